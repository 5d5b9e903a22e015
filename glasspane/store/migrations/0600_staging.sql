-- Deletion plans: where copies of loaded rows live outside a dataset's own tables. Names and
-- folder listings only, never a row or a file's content.

-- Replaced on every collect of a dataset: dlt's staging dataset for it (`<dataset>_staging` by
-- default), where merge loads stage their rows, and the tables it holds (an empty list when none).
CREATE TABLE raw.staging_datasets (
    source TEXT NOT NULL,
    location TEXT NOT NULL,
    dataset_name TEXT NOT NULL,
    staging_dataset TEXT NOT NULL,
    tables TEXT[] NOT NULL,
    collected_at TIMESTAMPTZ NOT NULL
);

-- Replaced on every collect of a pipeline working folder: the load packages it keeps, with the
-- tables their job files (data files) are for.
CREATE TABLE raw.load_packages (
    source TEXT NOT NULL,
    dataset_key TEXT NOT NULL,   -- the working folder's key in raw.datasets
    location TEXT NOT NULL,      -- where the pipeline loads (as its trace named it), else the working folder
    pipeline_name TEXT NOT NULL,
    dataset_name TEXT NOT NULL,
    load_id TEXT NOT NULL,
    state TEXT NOT NULL,         -- 'loaded' (kept after loading) | 'normalized' | 'extracted' (pending)
    path TEXT NOT NULL,          -- the package folder on the machine that collected it
    tables TEXT[] NOT NULL,
    collected_at TIMESTAMPTZ NOT NULL
);
