//! `lseg_model`: backends, loading, freeing, queries.

use std::sync::Arc;

use lseg_core::{Backend, LoadOptions, Lseg, LsegConfig};

use crate::args::{out_arg, params_arg, str_arg, write_out};
use crate::enums::{lseg_backend, lseg_dtype, lseg_status};
use crate::error::{CResult, invalid};
use crate::handle::Table;
use crate::panic::{guard, query};
use crate::types::{lseg_model, lseg_model_params};

/// The object behind an `lseg_model` handle.
pub(crate) struct Model {
    /// Its handle id (label sets remember which model encoded them).
    pub id: usize,
    pub model: Lseg,
}

static MODELS: Table<Model> = Table::new("model", "lseg_create", "lseg_free");

/// The live model of a handle.
pub(crate) fn model_arg(p: *const lseg_model) -> CResult<Arc<Model>> {
    MODELS.arg(p)
}

/// Most CPU threads `lseg_model_params.n_threads` may ask for.
const MAX_THREADS: u32 = 4096;

/// Whether a backend (`LSEG_BACKEND_*`) is compiled into this library. `LSEG_BACKEND_DEFAULT`
/// is true when any backend is. Being compiled in does not mean a CUDA device exists.
#[unsafe(no_mangle)]
pub extern "C" fn lseg_backend_is_compiled(backend: u32) -> bool {
    query(false, || {
        Ok(
            match lseg_backend::decode(backend, "backend")?.to_backend(0)? {
                None => !Backend::compiled().is_empty(),
                Some(b) => b.is_compiled(),
            },
        )
    })
}

/// Number of CUDA devices libtorch sees (0 without the libtorch backend).
#[unsafe(no_mangle)]
pub extern "C" fn lseg_cuda_device_count() -> u32 {
    query(0, || Ok(Backend::cuda_device_count() as u32))
}

/// Default model parameters: default backend, device 0, f32, default threads, no weights.
#[unsafe(no_mangle)]
pub extern "C" fn lseg_model_params_default() -> lseg_model_params {
    lseg_model_params {
        struct_size: std::mem::size_of::<lseg_model_params>() as u32,
        backend: lseg_backend::Default as u32,
        device_index: 0,
        dtype: lseg_dtype::F32 as u32,
        n_threads: 0,
        weights_path: std::ptr::null(),
        weights_data: std::ptr::null(),
        weights_size: 0,
        config_json: std::ptr::null(),
    }
}

/// Load a model. On success `*out_model` receives a handle to free with `lseg_free`; on
/// failure `*out_model` is not written.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lseg_create(
    params: *const lseg_model_params,
    out_model: *mut *mut lseg_model,
) -> lseg_status {
    guard(|| {
        let p = unsafe { params_arg(params, "params")? };
        out_arg(out_model, "out_model")?;
        let backend =
            lseg_backend::decode(p.backend, "params->backend")?.to_backend(p.device_index)?;
        let precision = lseg_dtype::decode(p.dtype, "params->dtype")?.into();
        if p.n_threads > MAX_THREADS {
            return Err(invalid(format!(
                "`params->n_threads` is {}, at most {MAX_THREADS}",
                p.n_threads
            )));
        }
        let config = if p.config_json.is_null() {
            None
        } else {
            let json = unsafe { str_arg(p.config_json, "params->config_json")? };
            Some(LsegConfig::from_json(json)?)
        };
        if let Some(b) = backend
            && !b.is_compiled()
        {
            b.device()?; // the clear "not compiled in" error
        }
        if p.n_threads > 0 {
            lseg_core::set_num_threads(p.n_threads as usize);
        }
        let opts = LoadOptions {
            backend,
            precision,
            config,
        };
        let model = match (p.weights_path.is_null(), p.weights_data.is_null()) {
            (false, true) => {
                if p.weights_size != 0 {
                    return Err(invalid(
                        "`params->weights_size` must be 0 when loading from `weights_path`",
                    ));
                }
                let path = unsafe { str_arg(p.weights_path, "params->weights_path")? };
                Lseg::load(path, &opts)?
            }
            (true, false) => {
                if p.weights_size == 0 || p.weights_size > isize::MAX as usize {
                    return Err(invalid(format!(
                        "`params->weights_size` is {}, not a valid buffer size",
                        p.weights_size
                    )));
                }
                // SAFETY: the caller guarantees `weights_size` readable bytes.
                let bytes = unsafe {
                    std::slice::from_raw_parts(p.weights_data as *const u8, p.weights_size)
                };
                Lseg::load_bytes(bytes, &opts)?
            }
            (true, true) => {
                return Err(invalid(
                    "no weights: set `params->weights_path` or `params->weights_data`",
                ));
            }
            (false, false) => {
                return Err(invalid(
                    "both `params->weights_path` and `params->weights_data` are set; set one",
                ));
            }
        };
        let id = MODELS.insert_with(|id| Model { id, model });
        unsafe { write_out(out_model, id as *mut lseg_model) };
        Ok(())
    })
}

/// Free a model. NULL is a no-op. Freeing a handle twice (or a foreign pointer) is detected
/// and ignored (`lseg_last_error` says so). Labels encoded by the model stay valid (and
/// usable only with it). Calls still running on other threads finish normally: the model is
/// released when the last of them returns.
#[unsafe(no_mangle)]
pub extern "C" fn lseg_free(model: *mut lseg_model) {
    query((), || MODELS.free(model))
}

/// Pixel-embedding dimension of a model (512 for the released weights); 0 for an invalid
/// handle.
#[unsafe(no_mangle)]
pub extern "C" fn lseg_model_embed_dim(model: *const lseg_model) -> usize {
    query(0, || Ok(model_arg(model)?.model.embed_dim()))
}
