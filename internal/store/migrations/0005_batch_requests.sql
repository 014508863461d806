-- A batch's items as submitted are stored once, as one row per job (one compact JSON item per
-- line), and batch_items holds only the results of processed items, written once by the chunk that
-- processed them. Before this a submission inserted a row per item and each chunk rewrote its rows:
-- twice the writes, both of them inside the single writer on SQLite. Items are processed in index
-- order, so the items without a row are those from the job's processed count on: pending while the
-- job is queued or running, stopped once it is stopped.
CREATE TABLE batch_requests (
    job_id BIGINT PRIMARY KEY REFERENCES batch_jobs(id) ON DELETE CASCADE,
    items  TEXT NOT NULL
);
INSERT INTO batch_requests (job_id, items)
    SELECT job_id, {{request_lines}} FROM batch_items GROUP BY job_id;
DELETE FROM batch_items WHERE status IN ('pending', 'stopped');
-- A job has at most 1,000 items: its rows are read through the primary key and filtered.
DROP INDEX batch_items_status;
ALTER TABLE batch_items DROP COLUMN request;
