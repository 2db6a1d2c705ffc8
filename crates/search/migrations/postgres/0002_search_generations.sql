-- Generations of the search tables, so that a rebuild can fill fresh tables while every
-- instance keeps answering from the ones in use, then point all instances at the fresh ones.
-- Generation 0 is search_orders / search_checkpoints (and stays as the template of later
-- ones: a migration that changes them must change every search_orders_g<n> too);
-- generation n > 0 is search_orders_g<n> / search_checkpoints_g<n>.

-- The generation every instance reads and writes; it only moves forward.
CREATE TABLE search_generation (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    generation bigint  NOT NULL
);
INSERT INTO search_generation (generation) VALUES (0);

-- Numbers for fresh generations, unique even when two instances rebuild at once.
CREATE SEQUENCE search_generation_numbers START 1;
