#pragma once
// The conjugate collectives of tensor parallelism, named once as in
// Megatron-LM's tensor_parallel/mappings.py. A tensor-parallel region is
// entered through "f" and left through "g":
//
//   f  copy_to_tensor_parallel_region:     forward identity, backward Σ group
//   g  reduce_from_tensor_parallel_region: forward Σ group,  backward identity
//
// A column-parallel layer (output features sharded) sits behind f: every rank
// reads the whole input, so each input gradient is a partial sum over this
// rank's output features. A row-parallel layer (input features sharded) sits
// before g: each rank's output is a partial sum over its input features.
// Linear owns both; the vocabulary-parallel embedding leaves through g and
// the output head enters through f.
//
// Every rank of the group calls each of them in the same order. Sums run in
// place and are no-ops in a group of one.

#include "weft/comm/communicator.h"
#include "weft/tensor/tensor.h"

namespace weft {

// f forward: x, the region's replicated input, read as it is.
const Tensor& copy_to_tensor_parallel_region_forward(Communicator& group, const Tensor& x);
// f backward: dx (any shape), this rank's partial gradient, becomes the sum
// over the group.
void copy_to_tensor_parallel_region_backward(Communicator& group, Tensor& dx);

// g forward: y (any shape), this rank's partial output, becomes the sum over
// the group.
void reduce_from_tensor_parallel_region_forward(Communicator& group, Tensor& y);
// g backward: dy, replicated on every rank, passes into the region as it is.
const Tensor& reduce_from_tensor_parallel_region_backward(Communicator& group, const Tensor& dy);

// Megatron's gather_from_tensor_parallel_region, forward only (inference
// needs no backward): local (N,C), this rank's slice of the last dimension,
// -> out (N, C·size) with rank r's slice at columns [r·C, (r+1)·C). staging
// (size,N,C) holds the gathered slices before they are interleaved; both are
// sized here.
void gather_from_tensor_parallel_region_forward(Communicator& group, const Tensor& local,
                                                Tensor& staging, Tensor& out);

}  // namespace weft
