BEGIN;

--
-- ACTION ALTER TABLE
--
ALTER TABLE "author" ADD COLUMN "bio" TEXT;

--
-- ACTION CREATE TABLE
--
CREATE TABLE "comment" (
    "id" INTEGER PRIMARY KEY,
    "postId" INTEGER NOT NULL,
    "authorName" TEXT NOT NULL,
    "body" TEXT NOT NULL,
    "createdAt" INTEGER NOT NULL DEFAULT (CAST(unixepoch('subsecond') * 1000 AS INTEGER)),
    CONSTRAINT "comment_fk_0" FOREIGN KEY ("postId") REFERENCES "post" ("id") ON DELETE CASCADE ON UPDATE NO ACTION
) STRICT;

-- Indexes
CREATE INDEX "comment_post_idx" ON "comment" ("postId");

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
    ('comment', 'createdAt', 'timestampWithoutTimeZone', NULL),
    ('post', 'publishedAt', 'timestampWithoutTimeZone', NULL);

--
-- MIGRATION VERSION FOR strata_example
--
INSERT INTO "serverpod_migrations" ("module", "version", "timestamp")
    VALUES ('strata_example', '20261122014500000-comments', (unixepoch('now', 'subsecond') * 1000))
    ON CONFLICT ("module")
    DO UPDATE SET "version" = '20261122014500000-comments', "timestamp" = (unixepoch('now', 'subsecond') * 1000);


COMMIT;
