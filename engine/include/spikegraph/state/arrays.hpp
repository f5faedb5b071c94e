// spikegraph/state/arrays.hpp
// A typed, non-owning reference to one state array, used to hand state to the
// bindings and to embedders without copying. The memory belongs to the backend
// (host memory for the CPU backend) and stays valid until the simulation is
// destroyed or its graph changes (structure steps).
#pragma once

#include <cstddef>
#include <cstdint>

namespace spikegraph {

enum class DType : std::uint8_t { f32, f64, u8, u16, i32, i64, u32, u64 };

/// Size in bytes of one element of a dtype.
inline std::size_t dtype_size(DType t) {
  switch (t) {
    case DType::u8: return 1;
    case DType::u16: return 2;
    case DType::f32:
    case DType::i32:
    case DType::u32: return 4;
    case DType::f64:
    case DType::i64:
    case DType::u64: return 8;
  }
  return 0;
}

/// numpy-style name ("float32", "uint16", ...).
const char* dtype_name(DType t);

struct ArrayRef {
  void* data = nullptr;  ///< host pointer, borrowed
  std::size_t size = 0;  ///< elements
  DType dtype = DType::f32;
};

/// Element i of any array as a double (64-bit integers above 2^53 round).
double read_element(const ArrayRef& a, std::size_t i);
/// Store x into element i, converted to the array's dtype. The caller checks that x
/// fits the dtype (Simulation::set_state does).
void write_element(const ArrayRef& a, std::size_t i, double x);

template <class T>
constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::f32; }
template <> constexpr DType dtype_of<double>() { return DType::f64; }
template <> constexpr DType dtype_of<std::uint8_t>() { return DType::u8; }
template <> constexpr DType dtype_of<std::uint16_t>() { return DType::u16; }
template <> constexpr DType dtype_of<std::int32_t>() { return DType::i32; }
template <> constexpr DType dtype_of<std::int64_t>() { return DType::i64; }
template <> constexpr DType dtype_of<std::uint32_t>() { return DType::u32; }
template <> constexpr DType dtype_of<std::uint64_t>() { return DType::u64; }

}  // namespace spikegraph
