-- On PostgreSQL a job's stored items (a few hundred KB of JSON) are compressed with lz4 rather than
-- the default pglz: compressing them is part of every submission's transaction, and with lz4
-- accepting a 1,000-item batch took 13-31% less time (BenchmarkSubmit medians, BENCHMARKS.md).
-- Rows stored before keep pglz and read as before; a server built without lz4, or before 14,
-- keeps pglz. On SQLite, which does not compress, this changes nothing.
{{lz4_batch_items}}
