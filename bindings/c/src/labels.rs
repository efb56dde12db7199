//! `lseg_labels`: encoding a label set once, its embeddings, freeing.

use std::ffi::c_char;
use std::sync::Arc;

use lseg_core::LabelSet;
use lseg_core::labels::check_count;

use crate::LSEG_LABELS_TRUNCATE;
use crate::args::{out_arg, str_arg, write_out};
use crate::enums::lseg_status;
use crate::error::{CResult, Fail, in_field, invalid, too_small};
use crate::handle::Table;
use crate::model::model_arg;
use crate::panic::{guard, query};
use crate::types::{lseg_labels, lseg_model};

/// The object behind an `lseg_labels` handle.
pub(crate) struct Labels {
    /// Handle id of the model that encoded the set (only usable with it).
    pub model_id: usize,
    pub set: LabelSet,
    /// `set`'s embeddings, row-major `count x dim`.
    embeddings: Vec<f32>,
    dim: usize,
}

static LABELS: Table<Labels> = Table::new("labels", "lseg_encode_labels", "lseg_labels_free");

/// The live label set of a handle.
pub(crate) fn labels_arg(p: *const lseg_labels) -> CResult<Arc<Labels>> {
    LABELS.arg(p)
}

/// Encode `count` UTF-8 labels once, for any number of `lseg_segment` calls with this model.
/// Same as `lseg_encode_labels_ex` with flags 0. On success `*out_labels` receives a handle to
/// free with `lseg_labels_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lseg_encode_labels(
    model: *const lseg_model,
    labels: *const *const c_char,
    count: usize,
    out_labels: *mut *mut lseg_labels,
) -> lseg_status {
    unsafe { lseg_encode_labels_ex(model, labels, count, 0, out_labels) }
}

/// `lseg_encode_labels` with flags (`LSEG_LABELS_TRUNCATE`). Errors: `count` 0 or over 65535,
/// a NULL, empty, whitespace-only or non-UTF-8 label, a label over 77 tokens (unless
/// truncating).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lseg_encode_labels_ex(
    model: *const lseg_model,
    labels: *const *const c_char,
    count: usize,
    flags: u32,
    out_labels: *mut *mut lseg_labels,
) -> lseg_status {
    guard(|| {
        let m = model_arg(model)?;
        out_arg(out_labels, "out_labels")?;
        if flags & !LSEG_LABELS_TRUNCATE != 0 {
            return Err(invalid(format!(
                "`flags` {flags:#x} has unknown bits (only LSEG_LABELS_TRUNCATE)"
            )));
        }
        // Before the pointer array is read: `count` bounds it.
        check_count(count).map_err(in_field("count"))?;
        if labels.is_null() {
            return Err(invalid("`labels` is NULL"));
        }
        // SAFETY: the caller passes `count` string pointers.
        let ptrs = unsafe { std::slice::from_raw_parts(labels, count) };
        let label_err = |m: String| Fail::new(lseg_status::LSEG_ERR_LABEL, m);
        let mut strs = Vec::with_capacity(count);
        for (i, &p) in ptrs.iter().enumerate() {
            if p.is_null() {
                return Err(invalid(format!("`labels[{i}]` is NULL")));
            }
            let s = unsafe { str_arg(p, &format!("labels[{i}]")) }.map_err(|f| label_err(f.msg))?;
            strs.push(s);
        }
        let set = m
            .model
            .encode_labels_with(&strs, flags & LSEG_LABELS_TRUNCATE != 0)?;
        let embeddings = set.to_vec();
        let dim = embeddings.len() / set.len();
        let id = LABELS.insert_with(|_| Labels {
            model_id: m.id,
            set,
            embeddings,
            dim,
        });
        unsafe { write_out(out_labels, id as *mut lseg_labels) };
        Ok(())
    })
}

/// Free a label set. NULL is a no-op; a double free is detected and ignored.
#[unsafe(no_mangle)]
pub extern "C" fn lseg_labels_free(labels: *mut lseg_labels) {
    query((), || LABELS.free(labels))
}

/// Number of labels in a set; 0 for an invalid handle.
#[unsafe(no_mangle)]
pub extern "C" fn lseg_labels_count(labels: *const lseg_labels) -> usize {
    query(0, || Ok(labels_arg(labels)?.set.len()))
}

/// Text-embedding dimension of a set (the model's `lseg_model_embed_dim`); 0 for an invalid
/// handle.
#[unsafe(no_mangle)]
pub extern "C" fn lseg_labels_dim(labels: *const lseg_labels) -> usize {
    query(0, || Ok(labels_arg(labels)?.dim))
}

/// Copy the L2-normalised text embeddings, row-major `count x dim` floats, into `out`
/// (`out_len` elements, at least `count * dim`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lseg_labels_embeddings(
    labels: *const lseg_labels,
    out: *mut f32,
    out_len: usize,
) -> lseg_status {
    guard(|| {
        let l = labels_arg(labels)?;
        out_arg(out, "out")?;
        let n = l.embeddings.len();
        if out_len < n {
            return Err(too_small("out", n, out_len));
        }
        // SAFETY: `out` holds `out_len >= n` floats.
        unsafe { std::ptr::copy_nonoverlapping(l.embeddings.as_ptr(), out, n) };
        Ok(())
    })
}
