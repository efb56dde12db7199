//! Shared macros and helpers for forward and transposed convolution.

use crate::FlexTensor;
use burn_std::{Element, ElementAdd, Shape};

// ============================================================================
// Macros for dtype wrappers
// ============================================================================

/// Generates a convNd function that delegates to a conv3d function via expand/squeeze.
macro_rules! conv_nd_via_3d {
    ($fn_name:ident, $conv3d_fn:ident, $expand_fn:ident, $squeeze_fn:ident, $dim:literal, $Options:ident) => {
        pub fn $fn_name(
            x: FlexTensor,
            weight: FlexTensor,
            bias: Option<FlexTensor>,
            options: &$Options<$dim>,
        ) -> FlexTensor {
            let (x_3d, weight_3d, options_3d) = $expand_fn(&x, &weight, options);
            let result_3d = $conv3d_fn(x_3d, weight_3d, bias, &options_3d);
            $squeeze_fn(result_3d)
        }
    };
}

/// Generates an f16 / bf16 function that computes in f32 (`crate::ops::half`).
macro_rules! half_via_f32 {
    ($half_fn:ident, $f32_fn:ident, $dim:literal, $Options:ident) => {
        pub fn $half_fn(
            x: FlexTensor,
            weight: FlexTensor,
            bias: Option<FlexTensor>,
            options: &$Options<$dim>,
        ) -> FlexTensor {
            let result = match bias {
                Some(b) => $crate::ops::half::via_f32([&x, &weight, &b], |[x, w, b]| {
                    $f32_fn(x, w, Some(b), options)
                }),
                None => {
                    $crate::ops::half::via_f32([&x, &weight], |[x, w]| $f32_fn(x, w, None, options))
                }
            };
            result.expect("half dtype")
        }
    };
}

// ============================================================================
// Squeeze helpers (used by both conv and conv_transpose 1d/2d paths)
// ============================================================================

pub(crate) fn squeeze_3d_to_1d(tensor: FlexTensor) -> FlexTensor {
    let shape = tensor.layout().shape();
    tensor.reshape(Shape::from(alloc::vec![shape[0], shape[1], shape[4]]))
}

pub(crate) fn squeeze_3d_to_2d(tensor: FlexTensor) -> FlexTensor {
    let shape = tensor.layout().shape();
    tensor.reshape(Shape::from(alloc::vec![
        shape[0], shape[1], shape[3], shape[4]
    ]))
}

// ============================================================================
// bf16 conversion helpers
// ============================================================================

// ============================================================================
// Bias addition
// ============================================================================

#[allow(clippy::needless_range_loop, clippy::extra_unused_type_parameters)]
#[cfg_attr(feature = "simd", macerator::with_simd)]
pub(crate) fn add_bias<#[cfg(feature = "simd")] S: macerator::Simd, T: Element + ElementAdd>(
    output: &mut [T],
    bias: &[T],
    batch: usize,
    channels: usize,
    spatial: usize,
) {
    for b in 0..batch {
        for c in 0..channels {
            let offset = b * channels * spatial + c * spatial;
            let bias_val = bias[c];
            for i in 0..spatial {
                output[offset + i] = T::add(output[offset + i], bias_val);
            }
        }
    }
}
