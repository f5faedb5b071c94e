// Device side of the kernel parity check: each thread evaluates the shared
// spikegraph/kernels math for one input, exactly as the CPU backend's loops do.
#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

#include "kernel_parity.hpp"
#include "spikegraph/kernels/math.hpp"
#include "spikegraph/kernels/neuron.hpp"
#include "spikegraph/kernels/rng.hpp"

namespace spikegraph::cuda_check {

namespace {

void check(cudaError_t err, const char* what) {
  if (err != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(err));
}

template <class T>
struct DeviceBuffer {
  T* ptr = nullptr;
  size_t n = 0;
  explicit DeviceBuffer(size_t count) : n(count) {
    check(cudaMalloc(&ptr, (count ? count : 1) * sizeof(T)), "cudaMalloc");
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer() { cudaFree(ptr); }
  void upload(const std::vector<T>& v) {
    check(cudaMemcpy(ptr, v.data(), v.size() * sizeof(T), cudaMemcpyHostToDevice), "cudaMemcpy H2D");
  }
  std::vector<T> download() const {
    std::vector<T> v(n);
    check(cudaMemcpy(v.data(), ptr, n * sizeof(T), cudaMemcpyDeviceToHost), "cudaMemcpy D2H");
    return v;
  }
};

__global__ void math_kernel(const double* x, int n, float* exp_f, double* exp_d) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  exp_f[i] = kernels::exp_det(static_cast<float>(x[i]));
  exp_d[i] = kernels::exp_det(x[i]);
}

__global__ void rng_kernel(kernels::RngKey key, std::uint64_t step, int n, const std::uint32_t* table,
                           int table_size, std::uint64_t* draws, std::uint32_t* counts) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  draws[i] = kernels::draw64(key, static_cast<std::uint32_t>(i), step);
  counts[i] = kernels::poisson_from_table(kernels::draw_u32(key, static_cast<std::uint32_t>(i), step), table,
                                          table_size);
}

__global__ void neuron_kernel(kernels::NeuronParams<float> p, int n, const float* v_in, const float* input,
                              float* v_out, std::uint8_t* spiked) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  float v = v_in[i];
  std::uint16_t refractory = 0;
  const kernels::Decay<float> d = kernels::membrane_decay(p, p.energy_cap * 0.5f);
  spiked[i] = kernels::neuron_step(v, refractory, p.threshold, 0.25f, input[i], p.energy_cap, d, p) ? 1 : 0;
  v_out[i] = v;
}

int blocks(size_t n) { return static_cast<int>((n + 255) / 256); }

}  // namespace

kernels::NeuronParams<float> parity_neuron_params() {
  kernels::NeuronParams<float> p{};
  p.v_rest = 0.0f;
  p.v_reset = 0.0f;
  p.threshold = 1.0f;
  p.resistance = 1.0f;
  p.tau_m_steps = 10.0f;
  p.energy_coupling = 0.5f;
  p.decay = 0.904837418f;
  p.drive_gain = 0.095162582f;
  p.spike_energy_min = 0.01f;
  p.energy_cap = 5.0f;
  p.refractory_steps = 2;
  p.leaky = 1;
  return p;
}

int device_count(std::string* why) {
  int count = 0;
  cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    if (why) *why = cudaGetErrorString(err);
    cudaGetLastError();  // clear the sticky error
    return 0;
  }
  return count;
}

ParityResults run_on_device(const std::vector<double>& x, std::uint64_t seed, std::uint64_t step,
                            const std::vector<std::uint32_t>& poisson_table,
                            const std::vector<float>& v_in, const std::vector<float>& input) {
  ParityResults r;
  const int n = static_cast<int>(x.size());
  DeviceBuffer<double> dx(x.size());
  DeviceBuffer<float> ef(x.size());
  DeviceBuffer<double> ed(x.size());
  dx.upload(x);
  math_kernel<<<blocks(x.size()), 256>>>(dx.ptr, n, ef.ptr, ed.ptr);
  check(cudaGetLastError(), "math_kernel launch");
  r.exp_f = ef.download();
  r.exp_d = ed.download();

  const auto key = kernels::make_key(seed, static_cast<std::uint64_t>(kernels::RngStream::poisson_input));
  DeviceBuffer<std::uint32_t> table(poisson_table.size());
  table.upload(poisson_table);
  DeviceBuffer<std::uint64_t> draws(x.size());
  DeviceBuffer<std::uint32_t> counts(x.size());
  rng_kernel<<<blocks(x.size()), 256>>>(key, step, n, table.ptr, static_cast<int>(poisson_table.size()), draws.ptr,
                                        counts.ptr);
  check(cudaGetLastError(), "rng_kernel launch");
  r.draws = draws.download();
  r.poisson = counts.download();

  const kernels::NeuronParams<float> p = parity_neuron_params();
  DeviceBuffer<float> vin(v_in.size()), inp(input.size()), vout(v_in.size());
  DeviceBuffer<std::uint8_t> spk(v_in.size());
  vin.upload(v_in);
  inp.upload(input);
  neuron_kernel<<<blocks(v_in.size()), 256>>>(p, static_cast<int>(v_in.size()), vin.ptr, inp.ptr, vout.ptr, spk.ptr);
  check(cudaGetLastError(), "neuron_kernel launch");
  r.v_after = vout.download();
  r.spiked = spk.download();
  return r;
}

}  // namespace spikegraph::cuda_check
