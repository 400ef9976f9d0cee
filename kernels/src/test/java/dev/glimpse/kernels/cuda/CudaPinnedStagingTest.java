package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static dev.glimpse.kernels.cuda.CudaTestSupport.cuda;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link CudaBackend#stagingTensor} by default ({@code -Dglimpse.cuda.pinnedStaging=true}): page-locked host
 * tensors from 1 MiB on, uploaded by DMA after {@code upload} returns; a closed one's buffer serves the next
 * tensor of its size only after the copies queued from it ran, so rewriting the new tensor at once cannot
 * change what the earlier upload delivers. With the property false, or below 1 MiB, plain host memory.
 */
class CudaPinnedStagingTest {

    private static final int[] SHAPE = {4, 3, 384, 384};   // 7 MiB of F32, a few video frames

    @AfterEach
    void clearProperty() {
        System.clearProperty(CudaBackend.PINNED_STAGING_PROPERTY);
    }

    private static void fill(Tensor t, float base) {
        float[] v = new float[(int) t.numel()];
        for (int i = 0; i < v.length; i++) {
            v[i] = base + i * 0.25f;
        }
        t.copyFrom(v);
    }

    @Test
    void aReusedBufferCannotChangeAnUploadAlreadyQueued() {
        CudaBackend gpu = cuda();
        System.setProperty(CudaBackend.PINNED_STAGING_PROPERTY, "true");
        long before = gpu.pinnedAllocations();
        Tensor first = gpu.stagingTensor(DType.F32, SHAPE);
        assertEquals(before + 1, gpu.pinnedAllocations(), "a new page-locked buffer");
        fill(first, 1f);
        float[] expectedFirst = first.toFloatArray();
        // Tens of milliseconds of GPU work ahead of the upload, so that its DMA is still pending when the
        // buffer is closed and asked for again: without the pool's event wait, the rewrite below would race it.
        try (Tensor a = gpu.allocate(DType.F32, 4096, 4096); Tensor w = gpu.allocate(DType.F32, 4096, 4096);
             Tensor product = gpu.allocate(DType.F32, 4096, 4096)) {
            for (int i = 0; i < 16; i++) {
                gpu.linear(a, w, null, product);
            }
        }
        try (Tensor deviceFirst = gpu.upload(first)) {
            first.close();
            try (Tensor second = gpu.stagingTensor(DType.F32, SHAPE)) {
                assertEquals(before + 1, gpu.pinnedAllocations(), "the released buffer serves the same size again");
                fill(second, -7f);
                try (Tensor deviceSecond = gpu.upload(second); Tensor backFirst = gpu.download(deviceFirst);
                     Tensor backSecond = gpu.download(deviceSecond)) {
                    assertArrayEquals(expectedFirst, backFirst.toFloatArray(), "the first upload kept its values");
                    assertArrayEquals(second.toFloatArray(), backSecond.toFloatArray(), "the second upload");
                }
            }
        }
    }

    @Test
    void smallTensorsAndTheSwitchedOffPropertyStayInPlainMemory() {
        CudaBackend gpu = cuda();
        System.setProperty(CudaBackend.PINNED_STAGING_PROPERTY, "false");
        long before = gpu.pinnedAllocations();
        try (Tensor plain = gpu.stagingTensor(DType.F32, SHAPE)) {
            assertEquals(before, gpu.pinnedAllocations(), "pinnedStaging=false: plain memory");
            assertTrue(plain.device().isHost());
            assertEquals(0f, plain.toFloatArray()[0], "plain memory is zero-filled");
        }
        System.clearProperty(CudaBackend.PINNED_STAGING_PROPERTY);
        try (Tensor pinned = gpu.stagingTensor(DType.F32, 2, 3, 384, 384)) {
            assertEquals(before + 1, gpu.pinnedAllocations(), "page-locked by default (a size not pooled yet)");
            assertTrue(pinned.device().isHost());
        }
        try (Tensor small = gpu.stagingTensor(DType.F32, 3, 336, 336 / 2)) {
            assertEquals(before + 1, gpu.pinnedAllocations(), "below 1 MiB: plain memory (no buffer pinned since)");
            assertTrue(small.device().isHost());
        }
    }

    /**
     * A host that cannot page-lock the size asked for ({@code cudaMallocHost} of 1 TiB on a machine with far less
     * memory): {@link PinnedPool#tryAcquire} returns 0 with the CUDA error cleared, so the next call on the device
     * works ({@link CudaBackend#stagingTensor} then hands out plain memory); {@link PinnedPool#acquire} says so.
     */
    @Test
    void aHostThatCannotPinTheSizeGetsZeroAndNoStickyError() {
        CudaBackend gpu = cuda();
        long tooMuch = 1L << 40;
        try (PinnedPool pool = new PinnedPool(new org.bytedeco.cuda.cudart.CUstream_st())) {
            assertEquals(0L, pool.tryAcquire(tooMuch), "1 TiB cannot be page-locked");
            assertEquals(org.bytedeco.cuda.global.cudart.cudaSuccess, org.bytedeco.cuda.global.cudart.cudaGetLastError(),
                    "the allocation error is cleared");
            CudaException e = org.junit.jupiter.api.Assertions.assertThrows(CudaException.class,
                    () -> pool.acquire(tooMuch));
            assertTrue(e.getMessage().contains("could not page-lock") && e.getMessage().contains(tooMuch + " bytes"),
                    e.getMessage());
            assertEquals(0L, pool.allocations());
        }
        try (Tensor host = Tensor.allocate(DType.F32, 1024)) {
            fill(host, 3f);
            try (Tensor device = gpu.upload(host); Tensor back = gpu.download(device)) {
                assertArrayEquals(host.toFloatArray(), back.toFloatArray(), "the device works after the refusal");
            }
        }
    }
}
