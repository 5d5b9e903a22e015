"""Streamlit helpers the pages share: cached reads, URL-synced filters, common panels."""
