//! libtorch specifics: thread count and CUDA device count (through torch-sys).

/// Number of CUDA devices libtorch can see.
pub(crate) fn cuda_device_count() -> usize {
    // SAFETY: plain query without arguments.
    let n = unsafe { torch_sys::cuda::atc_cuda_device_count() };
    n.max(0) as usize
}

/// libtorch's intra-op thread count.
pub(crate) fn set_num_threads(n: usize) {
    // SAFETY: plain setter; libtorch validates the value.
    unsafe { torch_sys::at_set_num_threads(n.clamp(1, i32::MAX as usize) as i32) }
}
