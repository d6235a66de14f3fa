-- The AWS tutorial's planet table (seed 004). Idempotent: safe to load again, and it
-- restores the canonical names if a lesson changed them. The same file seeds RDS.
CREATE TABLE IF NOT EXISTS planet (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT,
  name VARCHAR(30),
  PRIMARY KEY (id)
);
INSERT INTO planet (id, name) VALUES
  (10, 'Mercury'),
  (11, 'Venus'),
  (12, 'Earth'),
  (13, 'Mars'),
  (14, 'Jupiter'),
  (15, 'Saturn'),
  (16, 'Uranus'),
  (17, 'Neptune')
ON DUPLICATE KEY UPDATE name = VALUES(name);
