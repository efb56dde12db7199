//! Tensors held in memory under their official keys (the trainable weights of a training
//! run), and the values a forward pass in training mode writes back (BatchNorm's running
//! statistics). The model parts load from a store through the same [`Loader`](super::Loader)
//! calls as from a file, so training runs the inference code.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use burn::tensor::Tensor;

/// Tensors a forward pass in training mode writes back, by full key.
pub(crate) type Updates = Arc<Mutex<Vec<(String, Tensor<1>)>>>;

/// One stored tensor: its values flattened (an autodiff leaf while a step runs) and its shape.
#[derive(Debug, Clone)]
pub(crate) struct Stored {
    /// The values, flat.
    pub(crate) flat: Tensor<1>,
    /// The official shape.
    pub(crate) shape: Vec<usize>,
}

/// Float32 tensors by official key. In training mode the layers that behave differently in
/// training (BatchNorm) use batch statistics and record their running statistics in
/// [`TensorStore::updates`].
#[derive(Debug, Default)]
pub(crate) struct TensorStore {
    pub(crate) tensors: BTreeMap<String, Stored>,
    training: bool,
    updates: Updates,
}

impl TensorStore {
    /// A store of `tensors`; `training` selects the layers' training behaviour.
    pub(crate) fn new(tensors: BTreeMap<String, Stored>, training: bool) -> Self {
        Self {
            tensors,
            training,
            updates: Updates::default(),
        }
    }

    /// Whether the layers loaded from this store run in training mode.
    pub(crate) fn training(&self) -> bool {
        self.training
    }

    /// The sink of the values written back by a forward pass in training mode.
    pub(crate) fn updates(&self) -> &Updates {
        &self.updates
    }

    /// Take the values written back since the last call.
    pub(crate) fn take_updates(&self) -> Vec<(String, Tensor<1>)> {
        std::mem::take(&mut *self.updates.lock().expect("updates lock"))
    }
}
