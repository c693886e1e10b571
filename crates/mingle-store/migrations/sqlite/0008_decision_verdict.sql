-- A `review_resolved` decision records which decision was taken (accept, reject or
-- distinct), whatever its free-text reason says.
ALTER TABLE identity_decisions ADD COLUMN verdict TEXT CHECK (verdict IN ('accept', 'reject', 'distinct'));
