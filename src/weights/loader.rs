//! The view of the weights the model parts load through: a [`Source`] of values, the device
//! and compute dtype of the tensors, and a key prefix scoped like candle's `VarBuilder::pp`.

use std::cell::RefCell;
use std::fmt::Display;

use burn::tensor::{DType, Device, Tensor, TensorData};

use super::decode::transpose_with;
use super::store::{TensorStore, Updates};
use super::{HostTable, Weights};
use crate::error::{Error, Result};

/// Makes up the values of a key of a given shape.
pub(crate) type ValueFn<'g> = dyn Fn(&str, &[usize]) -> Vec<f32> + 'g;

/// Values made up on request, recording every key and shape asked for, in order.
pub(crate) struct Generated<'g> {
    values: &'g ValueFn<'g>,
    requested: RefCell<Vec<(String, Vec<usize>)>>,
}

impl<'g> Generated<'g> {
    /// Values from `values(key, shape)`.
    pub(crate) fn new(values: &'g ValueFn<'g>) -> Self {
        Self {
            values,
            requested: RefCell::default(),
        }
    }

    /// Every key and shape asked for, in order.
    pub(crate) fn into_requested(self) -> Vec<(String, Vec<usize>)> {
        self.requested.into_inner()
    }

    /// The values of `key`, recorded.
    fn get(&self, key: &str, shape: &[usize]) -> Vec<f32> {
        self.requested
            .borrow_mut()
            .push((key.to_string(), shape.to_vec()));
        (self.values)(key, shape)
    }
}

/// Where a [`Loader`] takes its values from.
pub(crate) enum Source<'w, 'a> {
    /// A weights file.
    File(&'w Weights<'a>),
    /// Values made up on request.
    Generated(&'w Generated<'w>),
    /// Tensors in memory (a training run's weights).
    #[cfg_attr(not(feature = "train"), allow(dead_code))]
    Store(&'w TensorStore),
}

/// Turns stored tensors into device tensors of the compute dtype. Keys are relative to the
/// loader's prefix ([`Loader::pp`]); errors name the full key.
pub(crate) struct Loader<'w, 'a> {
    source: &'w Source<'w, 'a>,
    device: Device,
    dtype: DType,
    prefix: String,
}

impl<'w, 'a> Loader<'w, 'a> {
    /// A loader at the root of the key space.
    pub(crate) fn new(source: &'w Source<'w, 'a>, device: Device, dtype: DType) -> Self {
        Self {
            source,
            device,
            dtype,
            prefix: String::new(),
        }
    }

    /// The loader of the sub-tree `name` (joined to the prefix with `.`).
    pub(crate) fn pp(&self, name: impl Display) -> Self {
        Self {
            prefix: self.key(&name.to_string()),
            ..self.with_dtype(self.dtype)
        }
    }

    /// The same keys, source and device with another dtype.
    pub(crate) fn with_dtype(&self, dtype: DType) -> Self {
        Self {
            source: self.source,
            device: self.device.clone(),
            dtype,
            prefix: self.prefix.clone(),
        }
    }

    /// The sink of the running statistics when the layers load for training (a store in
    /// training mode); `None` for inference.
    pub(crate) fn training_updates(&self) -> Option<Updates> {
        match self.source {
            Source::Store(s) if s.training() => Some(s.updates().clone()),
            _ => None,
        }
    }

    /// The full key of `name`.
    pub(crate) fn key(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_string()
        } else {
            format!("{}.{name}", self.prefix)
        }
    }

    /// Host values of a tensor with a required shape.
    pub(crate) fn host(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
        let key = self.key(name);
        match self.source {
            Source::File(w) => w.host_f32(&key, shape),
            Source::Generated(g) => Ok(g.get(&key, shape)),
            Source::Store(s) => {
                let t = Self::stored(s, &key, shape)?;
                Ok(t.flat
                    .clone()
                    .into_data()
                    .convert::<f32>()
                    .try_into_vec::<f32>()
                    .expect("f32 data"))
            }
        }
    }

    /// The entry of `key` in a store, checking its shape.
    fn stored<'s>(
        s: &'s TensorStore,
        key: &str,
        shape: &[usize],
    ) -> Result<&'s super::store::Stored> {
        let t = s
            .tensors
            .get(key)
            .ok_or_else(|| Error::MissingTensor { key: key.into() })?;
        if t.shape != shape {
            return Err(Error::ShapeMismatch {
                key: key.into(),
                expected: shape.to_vec(),
                found: t.shape.clone(),
            });
        }
        Ok(t)
    }

    /// A device tensor from host data.
    #[allow(clippy::wrong_self_convention)]
    pub(crate) fn from_host<const D: usize>(&self, data: Vec<f32>, shape: [usize; D]) -> Tensor<D> {
        let data = TensorData::new(data, shape);
        let t = Tensor::<D>::from_data(data, (&self.device, DType::F32));
        if self.dtype == DType::F32 {
            t
        } else {
            t.cast(self.dtype)
        }
    }

    /// A device tensor of the loader's dtype, decoded (and transposed when asked) on the
    /// host directly into that dtype: no intermediate copies.
    fn device_tensor<const D: usize>(
        &self,
        name: &str,
        stored: [usize; D],
        shape: [usize; D],
        transpose: bool,
    ) -> Result<Tensor<D>> {
        if let Source::Store(s) = self.source {
            // Reshaped (and transposed) as tensor ops, so that gradients reach the stored leaf.
            let t = Self::stored(s, &self.key(name), &stored)?.flat.clone();
            let t = t.reshape(stored);
            let t = if transpose { t.swap_dims(0, 1) } else { t };
            return Ok(if self.dtype == DType::F32 {
                t
            } else {
                t.cast(self.dtype)
            });
        }
        let Source::File(w) = self.source else {
            let host = self.host(name, &stored)?;
            let host = if transpose {
                transpose_with(stored[0], stored[1], |at, out: &mut [f32]| {
                    out.copy_from_slice(&host[at..at + out.len()])
                })
            } else {
                host
            };
            return Ok(self.from_host(host, shape));
        };
        let key = self.key(name);
        let data = match self.dtype {
            DType::F16 => TensorData::new(w.host::<half::f16>(&key, &stored, transpose)?, shape),
            DType::BF16 => TensorData::new(w.host::<half::bf16>(&key, &stored, transpose)?, shape),
            _ => TensorData::new(w.host::<f32>(&key, &stored, transpose)?, shape),
        };
        let dtype = data.dtype();
        let t = Tensor::<D>::from_data(data, (&self.device, dtype));
        Ok(if dtype == self.dtype {
            t
        } else {
            t.cast(self.dtype)
        })
    }

    /// A host lookup table with a required shape.
    pub(crate) fn table(&self, name: &str, shape: [usize; 2]) -> Result<HostTable> {
        match self.source {
            Source::File(w) => w.table(&self.key(name), shape),
            Source::Generated(_) | Source::Store(_) => Ok(HostTable::Owned {
                values: self.host(name, &shape)?.into(),
                width: shape[1],
            }),
        }
    }

    /// Load a tensor with a required shape.
    pub(crate) fn tensor<const D: usize>(
        &self,
        name: &str,
        shape: [usize; D],
    ) -> Result<Tensor<D>> {
        self.device_tensor(name, shape, shape, false)
    }

    /// Load a PyTorch `Linear` weight `[out, in]` as `[in, out]` (the layout every backend
    /// multiplies fastest; transposed once, here).
    pub(crate) fn linear_weight(&self, name: &str, out: usize, inp: usize) -> Result<Tensor<2>> {
        self.device_tensor(name, [out, inp], [inp, out], true)
    }
}
