// Batched single-precision matrix multiply, C[z] = A[z] · op(B[z]), row-major.
// Compiled at run time by NVRTC for the device's compute capability (sm_70,
// the V100, and later). One 256-thread block computes a 64×64 tile of C; each
// thread owns a 4×4 sub-tile strided by 16 rows and 16 columns, so that the
// threads of a warp read consecutive shared-memory words (no bank conflicts).

#define BM 64
#define BN 64
#define BK 16

extern "C" __global__ void __launch_bounds__(256)
pmlm_bgemm(const float* __restrict__ A, const float* __restrict__ B, float* __restrict__ C,
           int M, int N, int K, int transB, long long strideA, long long strideB, long long strideC)
{
    A += blockIdx.z * strideA;
    B += blockIdx.z * strideB;
    C += blockIdx.z * strideC;

    __shared__ float As[BK][BM + 1];
    __shared__ float Bs[BK][BN + 1];

    const int tid = threadIdx.x;
    const int tx = tid & 15, ty = tid >> 4;
    const int row0 = blockIdx.y * BM, col0 = blockIdx.x * BN;

    float acc[4][4];
#pragma unroll
    for (int i = 0; i < 4; i++)
#pragma unroll
        for (int j = 0; j < 4; j++) acc[i][j] = 0.f;

    for (int k0 = 0; k0 < K; k0 += BK) {
        // A tile: BM×BK values, four per thread; consecutive threads read
        // consecutive k of one row (coalesced 64-byte runs).
#pragma unroll
        for (int i = 0; i < 4; i++) {
            int idx = tid + i * 256;
            int m = idx / BK, kk = idx % BK;
            int gm = row0 + m, gk = k0 + kk;
            As[kk][m] = (gm < M && gk < K) ? A[(long long)gm * K + gk] : 0.f;
        }
#pragma unroll
        for (int i = 0; i < 4; i++) {
            int idx = tid + i * 256;
            if (transB) { // B is N×K: element (k, n) is B[n*K + k]
                int n = idx / BK, kk = idx % BK;
                int gn = col0 + n, gk = k0 + kk;
                Bs[kk][n] = (gn < N && gk < K) ? B[(long long)gn * K + gk] : 0.f;
            } else {      // B is K×N: element (k, n) is B[k*N + n]
                int kk = idx / BN, n = idx % BN;
                int gn = col0 + n, gk = k0 + kk;
                Bs[kk][n] = (gn < N && gk < K) ? B[(long long)gk * N + gn] : 0.f;
            }
        }
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < BK; kk++) {
            float a[4], b[4];
#pragma unroll
            for (int i = 0; i < 4; i++) a[i] = As[kk][ty + 16 * i];
#pragma unroll
            for (int j = 0; j < 4; j++) b[j] = Bs[kk][tx + 16 * j];
#pragma unroll
            for (int i = 0; i < 4; i++)
#pragma unroll
                for (int j = 0; j < 4; j++) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
        }
        __syncthreads();
    }
#pragma unroll
    for (int i = 0; i < 4; i++) {
        int gm = row0 + ty + 16 * i;
        if (gm >= M) continue;
#pragma unroll
        for (int j = 0; j < 4; j++) {
            int gn = col0 + tx + 16 * j;
            if (gn < N) C[(long long)gm * N + gn] = acc[i][j];
        }
    }
}
