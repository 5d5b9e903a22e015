"""The demo: real dlt pipelines (`pipelines`) and a governance layer of views and models over them
(`views_and_models`), built by `python -m collectors demo`."""
