-- The larger data set of notebook 08 and `make bench`: made-up exoplanets and their
-- observations. Only the tables are defined here; helpers/dataset.py fills them with seeded,
-- deterministic rows (python -m helpers.dataset), so no big file is committed. The same code
-- loads RDS in aws mode.
CREATE TABLE IF NOT EXISTS exoplanet (
  id INT UNSIGNED NOT NULL,
  name VARCHAR(40) NOT NULL,
  star VARCHAR(30) NOT NULL,
  method VARCHAR(20) NOT NULL,
  discovered SMALLINT UNSIGNED NOT NULL,
  mass_earth DOUBLE,
  radius_earth DOUBLE,
  period_days DOUBLE NOT NULL,
  PRIMARY KEY (id)
);
CREATE TABLE IF NOT EXISTS observation (
  id INT UNSIGNED NOT NULL,
  exoplanet_id INT UNSIGNED NOT NULL,
  observed_on DATE NOT NULL,
  telescope VARCHAR(20) NOT NULL,
  brightness DOUBLE NOT NULL,
  PRIMARY KEY (id)
);
