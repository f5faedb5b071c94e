#include "spikegraph/state/arrays.hpp"

#include <type_traits>

namespace spikegraph {

const char* dtype_name(DType t) {
  switch (t) {
    case DType::f32: return "float32";
    case DType::f64: return "float64";
    case DType::u8: return "uint8";
    case DType::u16: return "uint16";
    case DType::i32: return "int32";
    case DType::i64: return "int64";
    case DType::u32: return "uint32";
    case DType::u64: return "uint64";
  }
  return "unknown";
}

namespace {
// Calls fn with the array's data as a typed pointer.
template <class Fn>
auto with_typed(const ArrayRef& a, Fn&& fn) {
  switch (a.dtype) {
    case DType::f32: return fn(static_cast<float*>(a.data));
    case DType::f64: return fn(static_cast<double*>(a.data));
    case DType::u8: return fn(static_cast<std::uint8_t*>(a.data));
    case DType::u16: return fn(static_cast<std::uint16_t*>(a.data));
    case DType::i32: return fn(static_cast<std::int32_t*>(a.data));
    case DType::i64: return fn(static_cast<std::int64_t*>(a.data));
    case DType::u32: return fn(static_cast<std::uint32_t*>(a.data));
    case DType::u64: break;
  }
  return fn(static_cast<std::uint64_t*>(a.data));
}
}  // namespace

double read_element(const ArrayRef& a, std::size_t i) {
  return with_typed(a, [i](auto* p) { return static_cast<double>(p[i]); });
}

void write_element(const ArrayRef& a, std::size_t i, double x) {
  with_typed(a, [i, x](auto* p) { p[i] = static_cast<std::remove_reference_t<decltype(*p)>>(x); });
}

}  // namespace spikegraph
