//! Following growing log files like `tail -F`, across rotation, with checkpoints.
