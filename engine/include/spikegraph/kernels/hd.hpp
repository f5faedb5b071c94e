// spikegraph/kernels/hd.hpp
// The one place where SG_HD is defined. Kernel math marked SG_HD compiles as
// __host__ __device__ under nvcc and as plain inline C++ elsewhere, so the CPU
// tests exercise exactly the arithmetic the CUDA backend runs.
#pragma once

#if defined(__CUDACC__)
#define SG_HD __host__ __device__
#else
#define SG_HD
#endif
