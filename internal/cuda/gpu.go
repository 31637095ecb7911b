//go:build cuda

package cuda

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int CUresult;
typedef int CUdevice;
typedef void* CUcontext;
typedef void* CUmodule;
typedef void* CUfunction;
typedef void* CUevent;
typedef void* CUstream;
typedef unsigned long long CUdeviceptr;
typedef int nvrtcResult;
typedef void* nvrtcProgram;

// pmlm_cuda holds the entry points of one loaded set of CUDA libraries. Each
// Go GPU value owns one; nothing here is global.
typedef struct {
	void *libcuda, *libnvrtc, *libcublas;
	CUresult (*cuInit)(unsigned);
	CUresult (*cuDeviceGetCount)(int*);
	CUresult (*cuDeviceGet)(CUdevice*, int);
	CUresult (*cuDeviceGetName)(char*, int, CUdevice);
	CUresult (*cuDeviceGetAttribute)(int*, int, CUdevice);
	CUresult (*cuDevicePrimaryCtxRetain)(CUcontext*, CUdevice);
	CUresult (*cuDevicePrimaryCtxRelease)(CUdevice);
	CUresult (*cuCtxSetCurrent)(CUcontext);
	CUresult (*cuCtxSynchronize)(void);
	CUresult (*cuModuleLoadData)(CUmodule*, const void*);
	CUresult (*cuModuleUnload)(CUmodule);
	CUresult (*cuModuleGetFunction)(CUfunction*, CUmodule, const char*);
	CUresult (*cuMemAlloc)(CUdeviceptr*, size_t);
	CUresult (*cuMemFree)(CUdeviceptr);
	CUresult (*cuMemcpyHtoD)(CUdeviceptr, const void*, size_t);
	CUresult (*cuMemcpyDtoH)(void*, CUdeviceptr, size_t);
	CUresult (*cuLaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned,
	                           unsigned, CUstream, void**, void**);
	CUresult (*cuEventCreate)(CUevent*, unsigned);
	CUresult (*cuEventRecord)(CUevent, CUstream);
	CUresult (*cuEventSynchronize)(CUevent);
	CUresult (*cuEventElapsedTime)(float*, CUevent, CUevent);
	CUresult (*cuEventDestroy)(CUevent);
	CUresult (*cuGetErrorString)(CUresult, const char**);
	nvrtcResult (*nvrtcCreateProgram)(nvrtcProgram*, const char*, const char*, int, const char**, const char**);
	nvrtcResult (*nvrtcCompileProgram)(nvrtcProgram, int, const char**);
	nvrtcResult (*nvrtcGetPTXSize)(nvrtcProgram, size_t*);
	nvrtcResult (*nvrtcGetPTX)(nvrtcProgram, char*);
	nvrtcResult (*nvrtcGetProgramLogSize)(nvrtcProgram, size_t*);
	nvrtcResult (*nvrtcGetProgramLog)(nvrtcProgram, char*);
	nvrtcResult (*nvrtcDestroyProgram)(nvrtcProgram*);
	int (*cublasCreate)(void**);
	int (*cublasDestroy)(void*);
	int (*cublasSgemmStridedBatched)(void*, int, int, int, int, int, const float*, const float*, int, long long,
	                                 const float*, int, long long, const float*, float*, int, long long, int);
	CUdevice dev;
	CUcontext ctx;
	CUmodule mod;
	CUfunction fn, fn128;
	int sms;
	void* blas;
	char err[1024];
} pmlm_cuda;

static void* pmlm_open(const char* env, const char** names) {
	const char* override = getenv(env);
	if (override && *override) return dlopen(override, RTLD_NOW | RTLD_LOCAL);
	for (; *names; names++) {
		void* h = dlopen(*names, RTLD_NOW | RTLD_LOCAL);
		if (h) return h;
	}
	return NULL;
}

#define SYM(lib, field, name) if (!(*(void**)(&h->field) = dlsym(h->lib, name))) { \
	snprintf(h->err, sizeof h->err, "symbol %s missing", name); return -1; }

// pmlm_load opens libcuda and resolves the driver entry points. It returns 0
// on success and -1 with h->err set otherwise.
static int pmlm_load(pmlm_cuda* h) {
	const char* cuda[] = {"libcuda.so.1", "libcuda.so", NULL};
	h->libcuda = pmlm_open("PMLM_LIBCUDA", cuda);
	if (!h->libcuda) { snprintf(h->err, sizeof h->err, "libcuda: %s", dlerror()); return -1; }
	SYM(libcuda, cuInit, "cuInit");
	SYM(libcuda, cuDeviceGetCount, "cuDeviceGetCount");
	SYM(libcuda, cuDeviceGet, "cuDeviceGet");
	SYM(libcuda, cuDeviceGetName, "cuDeviceGetName");
	SYM(libcuda, cuDeviceGetAttribute, "cuDeviceGetAttribute");
	SYM(libcuda, cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain");
	SYM(libcuda, cuDevicePrimaryCtxRelease, "cuDevicePrimaryCtxRelease_v2");
	SYM(libcuda, cuCtxSetCurrent, "cuCtxSetCurrent");
	SYM(libcuda, cuCtxSynchronize, "cuCtxSynchronize");
	SYM(libcuda, cuModuleLoadData, "cuModuleLoadData");
	SYM(libcuda, cuModuleUnload, "cuModuleUnload");
	SYM(libcuda, cuModuleGetFunction, "cuModuleGetFunction");
	SYM(libcuda, cuMemAlloc, "cuMemAlloc_v2");
	SYM(libcuda, cuMemFree, "cuMemFree_v2");
	SYM(libcuda, cuMemcpyHtoD, "cuMemcpyHtoD_v2");
	SYM(libcuda, cuMemcpyDtoH, "cuMemcpyDtoH_v2");
	SYM(libcuda, cuLaunchKernel, "cuLaunchKernel");
	SYM(libcuda, cuEventCreate, "cuEventCreate");
	SYM(libcuda, cuEventRecord, "cuEventRecord");
	SYM(libcuda, cuEventSynchronize, "cuEventSynchronize");
	SYM(libcuda, cuEventElapsedTime, "cuEventElapsedTime");
	SYM(libcuda, cuEventDestroy, "cuEventDestroy_v2");
	SYM(libcuda, cuGetErrorString, "cuGetErrorString");

	const char* nvrtc[] = {"libnvrtc.so", "libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2", NULL};
	h->libnvrtc = pmlm_open("PMLM_LIBNVRTC", nvrtc);
	if (!h->libnvrtc) { snprintf(h->err, sizeof h->err, "libnvrtc: %s", dlerror()); return -1; }
	SYM(libnvrtc, nvrtcCreateProgram, "nvrtcCreateProgram");
	SYM(libnvrtc, nvrtcCompileProgram, "nvrtcCompileProgram");
	SYM(libnvrtc, nvrtcGetPTXSize, "nvrtcGetPTXSize");
	SYM(libnvrtc, nvrtcGetPTX, "nvrtcGetPTX");
	SYM(libnvrtc, nvrtcGetProgramLogSize, "nvrtcGetProgramLogSize");
	SYM(libnvrtc, nvrtcGetProgramLog, "nvrtcGetProgramLog");
	SYM(libnvrtc, nvrtcDestroyProgram, "nvrtcDestroyProgram");
	return 0;
}

static int pmlm_check(pmlm_cuda* h, CUresult r, const char* what) {
	if (r == 0) return 0;
	const char* s = "unknown error";
	if (h->cuGetErrorString) h->cuGetErrorString(r, &s);
	snprintf(h->err, sizeof h->err, "%s: %s (CUresult %d)", what, s, r);
	return -1;
}
#define CHECK(call, what) if (pmlm_check(h, (call), what)) return -1

// pmlm_init selects device 0, retains its primary context (shared with the
// runtime API, hence with cuBLAS) and compiles the kernel for the device's
// compute capability.
static int pmlm_init(pmlm_cuda* h, const char* src, char* name, int namelen, int* major, int* minor) {
	CHECK(h->cuInit(0), "cuInit");
	int n = 0;
	CHECK(h->cuDeviceGetCount(&n), "cuDeviceGetCount");
	if (n == 0) { snprintf(h->err, sizeof h->err, "no CUDA device"); return -1; }
	CHECK(h->cuDeviceGet(&h->dev, 0), "cuDeviceGet");
	CHECK(h->cuDeviceGetName(name, namelen, h->dev), "cuDeviceGetName");
	CHECK(h->cuDeviceGetAttribute(major, 75, h->dev), "compute capability major");
	CHECK(h->cuDeviceGetAttribute(minor, 76, h->dev), "compute capability minor");
	CHECK(h->cuDevicePrimaryCtxRetain(&h->ctx, h->dev), "cuDevicePrimaryCtxRetain");
	CHECK(h->cuCtxSetCurrent(h->ctx), "cuCtxSetCurrent");

	nvrtcProgram prog;
	if (h->nvrtcCreateProgram(&prog, src, "kernel.cu", 0, NULL, NULL)) {
		snprintf(h->err, sizeof h->err, "nvrtcCreateProgram failed"); return -1;
	}
	char arch[64];
	snprintf(arch, sizeof arch, "--gpu-architecture=compute_%d%d", *major, *minor);
	const char* opts[] = {arch, "--use_fast_math"};
	int rc = h->nvrtcCompileProgram(prog, 2, opts);
	if (rc) {
		size_t logn = 0;
		h->nvrtcGetProgramLogSize(prog, &logn);
		char* log = malloc(logn + 1);
		h->nvrtcGetProgramLog(prog, log);
		log[logn] = 0;
		snprintf(h->err, sizeof h->err, "nvrtc (%s): %s", arch, log);
		free(log);
		h->nvrtcDestroyProgram(&prog);
		return -1;
	}
	size_t ptxn = 0;
	h->nvrtcGetPTXSize(prog, &ptxn);
	char* ptx = malloc(ptxn);
	h->nvrtcGetPTX(prog, ptx);
	h->nvrtcDestroyProgram(&prog);
	CUresult r = h->cuModuleLoadData(&h->mod, ptx);
	free(ptx);
	CHECK(r, "cuModuleLoadData");
	CHECK(h->cuModuleGetFunction(&h->fn, h->mod, "pmlm_bgemm"), "cuModuleGetFunction");
	CHECK(h->cuModuleGetFunction(&h->fn128, h->mod, "pmlm_bgemm128"), "cuModuleGetFunction");
	CHECK(h->cuDeviceGetAttribute(&h->sms, 16, h->dev), "multiprocessor count");
	return 0;
}

// Device buffers of one product; grown on demand by the Go side.
typedef struct { CUdeviceptr a, b, c; size_t na, nb, nc; } pmlm_bufs;

static int pmlm_reserve(pmlm_cuda* h, CUdeviceptr* p, size_t* have, size_t want) {
	if (*have >= want) return 0;
	if (*p) { h->cuMemFree(*p); *p = 0; *have = 0; }
	CHECK(h->cuMemAlloc(p, want), "cuMemAlloc");
	*have = want;
	return 0;
}

static int pmlm_launch(pmlm_cuda* h, pmlm_bufs* d, int count, int M, int N, int K, int transB) {
	long long sA = (long long)M * K, sB = (long long)K * N, sC = (long long)M * N;
	void* args[] = {&d->a, &d->b, &d->c, &M, &N, &K, &transB, &sA, &sB, &sC};
	// Big tiles only when they give every multiprocessor at least two blocks.
	long long tiles128 = (long long)((N + 127) / 128) * ((M + 127) / 128) * count;
	if (tiles128 >= 2LL * h->sms) {
		CHECK(h->cuLaunchKernel(h->fn128, (N + 127) / 128, (M + 127) / 128, count, 256, 1, 1, 0, NULL, args, NULL),
		      "cuLaunchKernel");
		return 0;
	}
	unsigned gx = (N + 63) / 64, gy = (M + 63) / 64;
	CHECK(h->cuLaunchKernel(h->fn, gx, gy, count, 256, 1, 1, 0, NULL, args, NULL), "cuLaunchKernel");
	return 0;
}

// pmlm_matmul copies A and B to the device, runs the kernel and copies C back.
static int pmlm_matmul(pmlm_cuda* h, pmlm_bufs* d, const float* A, const float* B, float* C,
                       int count, int M, int N, int K, int transB) {
	CHECK(h->cuCtxSetCurrent(h->ctx), "cuCtxSetCurrent");
	size_t na = sizeof(float) * (size_t)count * M * K, nb = sizeof(float) * (size_t)count * K * N,
	       nc = sizeof(float) * (size_t)count * M * N;
	if (pmlm_reserve(h, &d->a, &d->na, na) || pmlm_reserve(h, &d->b, &d->nb, nb) ||
	    pmlm_reserve(h, &d->c, &d->nc, nc)) return -1;
	CHECK(h->cuMemcpyHtoD(d->a, A, na), "cuMemcpyHtoD A");
	CHECK(h->cuMemcpyHtoD(d->b, B, nb), "cuMemcpyHtoD B");
	if (pmlm_launch(h, d, count, M, N, K, transB)) return -1;
	CHECK(h->cuMemcpyDtoH(C, d->c, nc), "cuMemcpyDtoH C");
	return 0;
}

// pmlm_time runs the resident product reps times (kernel, or cuBLAS when
// useBlas) between two events and stores the mean milliseconds in *ms.
static int pmlm_time(pmlm_cuda* h, pmlm_bufs* d, int count, int M, int N, int K, int transB,
                     int reps, int useBlas, float* ms) {
	CHECK(h->cuCtxSetCurrent(h->ctx), "cuCtxSetCurrent");
	float one = 1, zero = 0;
	CUevent e0, e1;
	CHECK(h->cuEventCreate(&e0, 0), "cuEventCreate");
	CHECK(h->cuEventCreate(&e1, 0), "cuEventCreate");
	for (int i = -1; i < reps; i++) { // i = -1 warms up
		if (i == 0) CHECK(h->cuEventRecord(e0, NULL), "cuEventRecord");
		if (useBlas) {
			// Row-major C = A·op(B) is column-major Cᵀ = op(B)ᵀ·Aᵀ.
			int st = h->cublasSgemmStridedBatched(h->blas, transB ? 1 : 0, 0, N, M, K, &one,
				(const float*)d->b, transB ? K : N, (long long)K * N,
				(const float*)d->a, K, (long long)M * K, &zero,
				(float*)d->c, N, (long long)M * N, count);
			if (st) { snprintf(h->err, sizeof h->err, "cublasSgemmStridedBatched: status %d", st); return -1; }
		} else if (pmlm_launch(h, d, count, M, N, K, transB)) return -1;
	}
	CHECK(h->cuEventRecord(e1, NULL), "cuEventRecord");
	CHECK(h->cuEventSynchronize(e1), "cuEventSynchronize");
	CHECK(h->cuEventElapsedTime(ms, e0, e1), "cuEventElapsedTime");
	*ms /= reps;
	h->cuEventDestroy(e0);
	h->cuEventDestroy(e1);
	return 0;
}

// pmlm_load_cublas opens cuBLAS for the comparison benchmark.
static int pmlm_load_cublas(pmlm_cuda* h) {
	if (h->blas) return 0;
	const char* names[] = {"libcublas.so", "libcublas.so.13", "libcublas.so.12", "libcublas.so.11", NULL};
	h->libcublas = pmlm_open("PMLM_LIBCUBLAS", names);
	if (!h->libcublas) { snprintf(h->err, sizeof h->err, "libcublas: %s", dlerror()); return -1; }
	SYM(libcublas, cublasCreate, "cublasCreate_v2");
	SYM(libcublas, cublasDestroy, "cublasDestroy_v2");
	SYM(libcublas, cublasSgemmStridedBatched, "cublasSgemmStridedBatched");
	CHECK(h->cuCtxSetCurrent(h->ctx), "cuCtxSetCurrent");
	int st = h->cublasCreate(&h->blas);
	if (st) { snprintf(h->err, sizeof h->err, "cublasCreate: status %d", st); h->blas = NULL; return -1; }
	return 0;
}

static void pmlm_close(pmlm_cuda* h, pmlm_bufs* d) {
	if (h->ctx) {
		h->cuCtxSetCurrent(h->ctx);
		if (d->a) h->cuMemFree(d->a);
		if (d->b) h->cuMemFree(d->b);
		if (d->c) h->cuMemFree(d->c);
		if (h->blas) h->cublasDestroy(h->blas);
		if (h->mod) h->cuModuleUnload(h->mod);
		h->cuDevicePrimaryCtxRelease(h->dev);
	}
	memset(d, 0, sizeof *d);
	h->ctx = NULL;
}
*/
import "C"

import (
	_ "embed"
	"fmt"
	"sync"
	"unsafe"
)

//go:embed kernel.cu
var kernelSource string

// GPU runs batched products on the first CUDA device. Calls are serialized.
type GPU struct {
	mu     sync.Mutex
	h      *C.pmlm_cuda
	bufs   C.pmlm_bufs
	name   string
	closed bool
}

// New returns the GPU multiplier, or an error wrapping ErrNoDevice when the
// CUDA libraries or a device are missing. PMLM_LIBCUDA, PMLM_LIBNVRTC and
// PMLM_LIBCUBLAS override the library paths.
func New() (Multiplier, error) {
	g, err := NewGPU()
	if err != nil {
		return nil, err
	}
	return g, nil
}

// NewGPU loads the driver and NVRTC, and compiles the kernel for device 0.
func NewGPU() (*GPU, error) {
	h := (*C.pmlm_cuda)(C.calloc(1, C.size_t(unsafe.Sizeof(C.pmlm_cuda{}))))
	if C.pmlm_load(h) != 0 {
		err := fmt.Errorf("%w: %s", ErrNoDevice, C.GoString(&h.err[0]))
		C.free(unsafe.Pointer(h))
		return nil, err
	}
	src := C.CString(kernelSource)
	defer C.free(unsafe.Pointer(src))
	var name [256]C.char
	var major, minor C.int
	if C.pmlm_init(h, src, &name[0], C.int(len(name)), &major, &minor) != 0 {
		err := fmt.Errorf("%w: %s", ErrNoDevice, C.GoString(&h.err[0]))
		var b C.pmlm_bufs
		C.pmlm_close(h, &b)
		C.free(unsafe.Pointer(h))
		return nil, err
	}
	return &GPU{h: h, name: fmt.Sprintf("cuda: %s (sm_%d%d)", C.GoString(&name[0]), major, minor)}, nil
}

// Name implements Multiplier.
func (g *GPU) Name() string { return g.name }

// MatMul implements Multiplier. Inputs are copied to the device and the
// result back on every call.
func (g *GPU) MatMul(b Batch, a, bm, c []float32) error {
	if err := b.Validate(a, bm, c); err != nil {
		return err
	}
	if b.Count == 0 || b.M == 0 || b.N == 0 {
		return nil
	}
	if b.K == 0 {
		clear(c)
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return fmt.Errorf("cuda: MatMul on a closed GPU")
	}
	if C.pmlm_matmul(g.h, &g.bufs, (*C.float)(&a[0]), (*C.float)(&bm[0]), (*C.float)(&c[0]),
		C.int(b.Count), C.int(b.M), C.int(b.N), C.int(b.K), boolInt(b.TransB)) != 0 {
		return fmt.Errorf("cuda: %s", C.GoString(&g.h.err[0]))
	}
	return nil
}

// timeResident times reps products of the batch on device-resident data
// (the last MatMul's buffers, which must have the same shape), with the
// project's kernel or with cuBLAS, and returns the mean milliseconds.
func (g *GPU) timeResident(b Batch, reps int, cublas bool) (float64, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if cublas && C.pmlm_load_cublas(g.h) != 0 {
		return 0, fmt.Errorf("cuda: %s", C.GoString(&g.h.err[0]))
	}
	var ms C.float
	if C.pmlm_time(g.h, &g.bufs, C.int(b.Count), C.int(b.M), C.int(b.N), C.int(b.K), boolInt(b.TransB),
		C.int(reps), boolInt(cublas), &ms) != 0 {
		return 0, fmt.Errorf("cuda: %s", C.GoString(&g.h.err[0]))
	}
	return float64(ms), nil
}

// Close implements Multiplier.
func (g *GPU) Close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil
	}
	g.closed = true
	C.pmlm_close(g.h, &g.bufs)
	C.free(unsafe.Pointer(g.h))
	return nil
}

func boolInt(b bool) C.int {
	if b {
		return 1
	}
	return 0
}
