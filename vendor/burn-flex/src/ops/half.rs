//! Half precision computed in f32: the tensor conversions that matmul, convolution, attention,
//! casts and element-wise ops share (vectorised in `simd::convert`).

use burn_backend::DType;
use burn_std::{Bytes, Element, bf16, f16};

use crate::simd::convert::{HalfFloat, from_f32_vec, to_f32_vec};
use crate::{FlexTensor, Layout};

/// A contiguous f32 copy of a half-precision tensor.
pub(crate) fn to_f32<H: HalfFloat + Element>(tensor: &FlexTensor) -> FlexTensor {
    debug_assert_eq!(tensor.dtype(), H::dtype(), "half::to_f32: dtype mismatch");
    let tensor = tensor.to_contiguous();
    let data = to_f32_vec::<H>(tensor.storage());
    FlexTensor::new(
        Bytes::from_elems(data),
        Layout::contiguous(tensor.layout().shape().clone()),
        DType::F32,
    )
}

/// A contiguous half-precision copy of an f32 tensor, rounded to nearest even.
pub(crate) fn from_f32<H: HalfFloat + Element>(tensor: &FlexTensor) -> FlexTensor {
    debug_assert_eq!(tensor.dtype(), DType::F32, "half::from_f32: dtype mismatch");
    let tensor = tensor.to_contiguous();
    let data = from_f32_vec::<H>(tensor.storage());
    FlexTensor::new(
        Bytes::from_elems(data),
        Layout::contiguous(tensor.layout().shape().clone()),
        H::dtype(),
    )
}

/// An f32 copy of a half-precision tensor with the same view of its values: a broadcast
/// (stride 0) or transposed view widens only the storage it covers and keeps its strides, so
/// a broadcast bias is not materialised. Other views are made contiguous.
fn to_f32_view<H: HalfFloat + Element>(tensor: &FlexTensor) -> FlexTensor {
    let layout = tensor.layout();
    let shape = layout.shape();
    let strides = layout.strides();
    let numel = layout.num_elements();
    if numel == 0 || strides.iter().any(|&s| s < 0) {
        return to_f32::<H>(tensor);
    }
    let span = 1
        + (0..shape.num_dims())
            .map(|d| (shape[d] - 1) * strides[d] as usize)
            .sum::<usize>();
    if span > numel {
        return to_f32::<H>(tensor);
    }
    let start = layout.start_offset();
    let data = to_f32_vec::<H>(&tensor.storage::<H>()[start..start + span]);
    FlexTensor::new(
        Bytes::from_elems(data),
        Layout::new(shape.clone(), strides.to_vec(), 0),
        DType::F32,
    )
}

/// Runs an f32 op on f16 / bf16 tensors: inputs widened (views kept, see `to_f32_view`), the
/// result rounded back. Returns `None` for other dtypes.
pub(crate) fn via_f32<const N: usize>(
    inputs: [&FlexTensor; N],
    op: impl FnOnce([FlexTensor; N]) -> FlexTensor,
) -> Option<FlexTensor> {
    match inputs[0].dtype() {
        DType::F16 => Some(from_f32::<f16>(&op(inputs.map(to_f32_view::<f16>)))),
        DType::BF16 => Some(from_f32::<bf16>(&op(inputs.map(to_f32_view::<bf16>)))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use alloc::vec::Vec;
    use burn_backend::TensorData;
    use burn_backend::ops::FloatTensorOps;
    use burn_std::bf16;

    use crate::Flex;

    /// Broadcast and transposed half inputs go through `via_f32` as views: same values as
    /// the per-element f32 op rounded once.
    #[test]
    fn binary_ops_on_half_views() {
        let a: Vec<bf16> = (0..15)
            .map(|i| bf16::from_f32(i as f32 * 0.37 - 2.0))
            .collect();
        let b: Vec<bf16> = (0..5)
            .map(|i| bf16::from_f32(i as f32 * 1.1 + 0.3))
            .collect();
        let dev = Default::default();
        let ta = Flex::float_from_data(TensorData::new(a.clone(), [3, 5]), &dev);
        let tb = Flex::float_from_data(TensorData::new(b.clone(), [1, 5]), &dev);
        // [3, 5] * broadcast [1, 5]
        let got: Vec<bf16> = Flex::float_mul(ta.clone(), tb.clone())
            .into_data()
            .try_into_vec()
            .unwrap();
        for i in 0..3 {
            for j in 0..5 {
                let want = bf16::from_f32(a[i * 5 + j].to_f32() * b[j].to_f32());
                assert_eq!(got[i * 5 + j], want, "[{i}, {j}]");
            }
        }
        // transposed [5, 3] + broadcast [5, 1]
        let at = Flex::float_swap_dims(ta, 0, 1);
        let bt = Flex::float_swap_dims(tb, 0, 1);
        let got: Vec<bf16> = Flex::float_add(at, bt).into_data().try_into_vec().unwrap();
        for j in 0..5 {
            for i in 0..3 {
                let want = bf16::from_f32(a[i * 5 + j].to_f32() + b[j].to_f32());
                assert_eq!(got[j * 3 + i], want, "[{j}, {i}]");
            }
        }
    }
}
