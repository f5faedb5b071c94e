# Included by the top-level CMakeLists.txt before engine/ is configured: decides
# whether the CUDA backend is built, so that engine/ can compile it in (the objects
# of cuda/CMakeLists.txt) or compile src/backend/no_cuda.cpp instead.
#   SPIKEGRAPH_CUDA = OFF: never; AUTO: when a CUDA compiler is found (set CUDACXX
#   to nvcc if it is not on PATH); ON: required.
# Sets SPIKEGRAPH_WITH_CUDA, the default CUDA architectures, and the CUDAToolkit
# imported targets (CUDA::cudart_static) at the top level. enable_language(CUDA)
# itself happens in cuda/CMakeLists.txt.
set(SPIKEGRAPH_WITH_CUDA OFF)
if(NOT SPIKEGRAPH_CUDA STREQUAL "OFF")
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    find_package(CUDAToolkit)
  endif()
  if(CMAKE_CUDA_COMPILER AND CUDAToolkit_FOUND)
    set(SPIKEGRAPH_WITH_CUDA ON)
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
      # sm_90 (H100/H200) machine code plus portable PTX that newer GPUs JIT-compile.
      set(CMAKE_CUDA_ARCHITECTURES "90-real;75-virtual")
    endif()
  elseif(SPIKEGRAPH_CUDA STREQUAL "ON")
    message(FATAL_ERROR "SPIKEGRAPH_CUDA=ON but no CUDA compiler and toolkit were found (set CUDACXX to nvcc)")
  else()
    message(STATUS "spikegraph: no CUDA compiler found, the CUDA backend is not built")
  endif()
endif()
