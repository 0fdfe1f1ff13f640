"""Core building blocks shared by every stage: errors, schema, frames, time."""
