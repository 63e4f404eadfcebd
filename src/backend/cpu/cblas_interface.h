#pragma once
// The CBLAS interface of the BLAS this build links: OpenBLAS's, or the
// reference BLAS's (WEFT_REFERENCE_BLAS, the GPU bundle's small build).

#if defined(WEFT_REFERENCE_BLAS)
#include <cblas-netlib.h>
#else
#include <cblas.h>
#endif
