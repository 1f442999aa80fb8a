-- Leases on running jobs: the worker that starts a job owns it (`lease_owner`, a random token
-- per attempt) until `lease_until`, and renews the lease while the job runs. A job whose lease
-- ran out lost its worker and is run again; updates from a worker that lost its lease are
-- refused, because every update names the owner.
ALTER TABLE jobs ADD COLUMN lease_owner TEXT;
ALTER TABLE jobs ADD COLUMN lease_until BIGINT;
CREATE INDEX jobs_status_lease_idx ON jobs (status, lease_until);
