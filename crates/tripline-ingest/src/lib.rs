//! Sources: capture files, live capture, decoding, log parsers, following.
//!
//! A source yields [`Record`]s in time order to a [`RecordSink`]. Records
//! borrow from the source's buffers (the mmapped capture, the current line),
//! so a source pushes them into the sink instead of returning them.
//! Damaged input is reported to the sink as an [`InputError`] naming the file
//! and the offset or line; the source then goes on with the rest.

use tripline_core::{InputError, Record};

pub mod app;
pub mod capture;
pub mod follow;
pub mod live;
pub mod logs;
pub mod open;
pub mod source;
pub mod trap;

pub use source::{Format, RecordSink, Source, SourceStats};

/// Re-exported for convenience: everything a sink sees.
pub mod prelude {
    pub use super::{Format, RecordSink, Source, SourceStats};
    pub use tripline_core::{InputError, Record};
}

#[doc(hidden)]
pub fn _assert_object_safe(
    _: &dyn Source,
    _: &dyn RecordSink,
    _: Option<(Record<'_>, InputError)>,
) {
}
