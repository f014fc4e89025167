PRAGMA foreign_keys = OFF;
BEGIN;

--
-- ACTION CREATE TABLE
--
CREATE TABLE "author" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT,
    "name" TEXT NOT NULL,
    "email" TEXT NOT NULL,
    "joinedAt" TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- Indexes
CREATE UNIQUE INDEX "author__email__unique_idx" ON "author" ("email");
CREATE INDEX "author_name_idx" ON "author" ("name");

--
-- ACTION CREATE TABLE
--
CREATE TABLE "post" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT,
    "authorId" BIGINT NOT NULL,
    "title" TEXT NOT NULL,
    "body" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'draft',
    "publishedAt" TIMESTAMP,
    "viewCount" BIGINT NOT NULL DEFAULT 0,
    CONSTRAINT "post_fk_0" FOREIGN KEY ("authorId") REFERENCES "author" ("id") ON DELETE CASCADE ON UPDATE NO ACTION
);

-- Indexes
CREATE INDEX "post_author_published_idx" ON "post" ("authorId", "publishedAt");


--
-- MIGRATION VERSION TABLE
--
CREATE TABLE IF NOT EXISTS "serverpod_migrations" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT,
    "module" TEXT NOT NULL,
    "version" TEXT NOT NULL,
    "timestamp" TIMESTAMP
);
CREATE UNIQUE INDEX IF NOT EXISTS "serverpod_migrations_ids" ON "serverpod_migrations" ("module");

--
-- MIGRATION VERSION FOR strata_example
--
INSERT INTO "serverpod_migrations" ("module", "version", "timestamp")
    VALUES ('strata_example', '20261122014000000-initial', CURRENT_TIMESTAMP)
    ON CONFLICT ("module")
    DO UPDATE SET "version" = '20261122014000000-initial', "timestamp" = CURRENT_TIMESTAMP;

--
-- FOREIGN KEY CHECK
--
CREATE TEMP TABLE "_strata_fk_check" ("violations" INTEGER CONSTRAINT "foreign_key_violations_after_migration" CHECK ("violations" = 0));
INSERT INTO "_strata_fk_check" SELECT count(*) FROM pragma_foreign_key_check;
DROP TABLE "_strata_fk_check";

COMMIT;
PRAGMA foreign_keys = ON;
