BEGIN;

--
-- Class Author as table author
--
CREATE TABLE "author" (
    "id" INTEGER PRIMARY KEY,
    "name" TEXT NOT NULL,
    "email" TEXT NOT NULL,
    "joinedAt" INTEGER NOT NULL DEFAULT (CAST(unixepoch('subsecond') * 1000 AS INTEGER))
) STRICT;

-- Indexes
CREATE UNIQUE INDEX "author__email__unique_idx" ON "author" ("email");
CREATE INDEX "author_name_idx" ON "author" ("name");


--
-- Class Post as table post
--
CREATE TABLE "post" (
    "id" INTEGER PRIMARY KEY,
    "authorId" INTEGER NOT NULL,
    "title" TEXT NOT NULL,
    "body" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT ('draft'),
    "publishedAt" INTEGER,
    "viewCount" INTEGER NOT NULL DEFAULT (0),
    CONSTRAINT "post_fk_0" FOREIGN KEY ("authorId") REFERENCES "author" ("id") ON DELETE CASCADE ON UPDATE NO ACTION
) STRICT;

-- Indexes
CREATE INDEX "post_author_published_idx" ON "post" ("authorId", "publishedAt");


--
-- MIGRATION VERSION TABLE
--
CREATE TABLE IF NOT EXISTS "serverpod_migrations" (
    "id" INTEGER PRIMARY KEY,
    "module" TEXT NOT NULL,
    "version" TEXT NOT NULL,
    "timestamp" INTEGER
) STRICT;

-- Indexes
CREATE UNIQUE INDEX IF NOT EXISTS "serverpod_migrations_ids" ON "serverpod_migrations" ("module");

--
-- STORE COLUMN TYPES FOR MIGRATIONS
--
DROP TABLE IF EXISTS "serverpod_sqlite_schema";

CREATE TABLE "serverpod_sqlite_schema" (
    "table_name" TEXT NOT NULL,
    "column_name" TEXT NOT NULL,
    "column_type" TEXT NOT NULL,
    "column_vector_dimension" INTEGER,
    PRIMARY KEY ("table_name", "column_name")
);

INSERT INTO "serverpod_sqlite_schema" VALUES
    ('author', 'joinedAt', 'timestampWithoutTimeZone', NULL),
    ('post', 'publishedAt', 'timestampWithoutTimeZone', NULL);

--
-- MIGRATION VERSION FOR strata_example
--
INSERT INTO "serverpod_migrations" ("module", "version", "timestamp")
    VALUES ('strata_example', '20261122014000000-initial', (unixepoch('now', 'subsecond') * 1000))
    ON CONFLICT ("module")
    DO UPDATE SET "version" = '20261122014000000-initial', "timestamp" = (unixepoch('now', 'subsecond') * 1000);


COMMIT;
