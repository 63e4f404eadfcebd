#pragma once
// WEFT_HOST_DEVICE marks an inline function that both the host compiler and
// nvcc's device pass compile: one formula for the CPU and the CUDA kernels.
// Outside nvcc it expands to nothing.

#ifdef __CUDACC__
#define WEFT_HOST_DEVICE __host__ __device__
#else
#define WEFT_HOST_DEVICE
#endif
