-- Whether a worker executes the run. The service decides when it creates the run (runs
-- of an event execute; runs recorded through POST /runs are kept, never executed); the
-- claim only reads the flag.
ALTER TABLE runs ADD COLUMN executes INTEGER NOT NULL DEFAULT 0 CHECK (executes IN (0, 1));
UPDATE runs SET executes = 1 WHERE event_id IS NOT NULL;
