"""Function creation: field validation, ZIP checks and extraction, and the asynchronous
preparation pipeline."""
