//! The resource limits, in one list: each is checked where its rule applies, with an error
//! that names it, and the C header (`LSEG_MAX_*`), the CLI and the bindings use these values.
//!
//! | limit | value | beyond it |
//! |---|---|---|
//! | [`MAX_IMAGE_SIDE`] | 16384 px | `InvalidInput` (images, resize targets, multi-scale sizes) |
//! | [`MAX_LABELS`] | 65535 | `Label` (label maps are `u16`) |
//! | [`MAX_LABEL_BYTES`] | 4096 bytes | `Label` (checked before tokenising) |
//! | [`CONTEXT_LENGTH`] | 77 CLIP tokens | `Label`, unless truncating |
//! | [`MAX_SCALES`] | 64 | `InvalidInput`; each scale finite, > 0, `ceil(base_size * scale) <= MAX_IMAGE_SIDE` |
//! | [`MAX_WEIGHTS_BYTES`] | 8 GiB | `InvalidWeights` |

pub use crate::image::MAX_IMAGE_SIDE;
pub use crate::labels::{MAX_LABEL_BYTES, MAX_LABELS};
pub use crate::tokenizer::CONTEXT_LENGTH;
pub use crate::weights::MAX_WEIGHTS_BYTES;

/// Most scales of a multi-scale protocol ([`MultiScale::MAX_SCALES`](crate::MultiScale::MAX_SCALES)).
pub const MAX_SCALES: usize = crate::protocol::MultiScale::MAX_SCALES;
