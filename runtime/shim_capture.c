// SPDX-License-Identifier: MIT
/*
 * shim_capture.c - knowing, cheaply, when a CUDA graph is being captured.
 *
 * An allocation made while a stream captures must become part of the graph
 * and must not synchronize, so it goes to the driver (shim_memory.c).  Asking the
 * driver about capture on every allocation would cost a call each time;
 * instead the shim counts the captures begun and not yet ended, and asks
 * only while that count is not zero.
 */
#include "shim.h"

atomic_long shim_captures;

/**
 * shim_stream_capturing - whether @stream is capturing, or may be
 * @stream: the stream, NULL for the default stream
 * @per_thread: NULL means the per-thread default stream (a _ptsz call)
 *
 * An error counts as capturing: the legacy stream answers
 * CUDA_ERROR_STREAM_CAPTURE_IMPLICIT while another stream captures.
 */
bool shim_stream_capturing(CUstream stream, bool per_thread)
{
	CUstreamCaptureStatus status = CU_STREAM_CAPTURE_STATUS_NONE;

	if (!stream)
		stream = per_thread ? CU_STREAM_PER_THREAD : CU_STREAM_LEGACY;
	if (shim.real.cuStreamIsCapturing(stream, &status) != CUDA_SUCCESS)
		return true;
	return status != CU_STREAM_CAPTURE_STATUS_NONE;
}

static CUresult capture_begun(CUresult res)
{
	if (res == CUDA_SUCCESS)
		atomic_fetch_add_explicit(&shim_captures, 1, memory_order_relaxed);
	return res;
}

static bool capturing_exactly(CUstream stream, bool per_thread);

/*
 * A capture ended (successfully or invalidated) when its stream was
 * capturing before the call and is not after it.
 */
static CUresult capture_ended(CUresult res, bool was_capturing, CUstream stream,
			      bool per_thread)
{
	long n = atomic_load_explicit(&shim_captures, memory_order_relaxed);

	if (!was_capturing || capturing_exactly(stream, per_thread))
		return res;
	while (n > 0 && !atomic_compare_exchange_weak_explicit(&shim_captures, &n, n - 1,
							       memory_order_relaxed,
							       memory_order_relaxed))
		;
	return res;
}

static bool capturing_exactly(CUstream stream, bool per_thread)
{
	CUstreamCaptureStatus status = CU_STREAM_CAPTURE_STATUS_NONE;

	if (!stream)
		stream = per_thread ? CU_STREAM_PER_THREAD : CU_STREAM_LEGACY;
	return shim.real.cuStreamIsCapturing(stream, &status) == CUDA_SUCCESS &&
	       status != CU_STREAM_CAPTURE_STATUS_NONE;
}

/** cuStreamBeginCapture - the driver's (CUDA 10.0 form), counted */
SHIM_EXPORT CUresult cuStreamBeginCapture(CUstream stream)
{
	shim_init();
	return capture_begun(shim.real.cuStreamBeginCapture(stream));
}

/** cuStreamBeginCapture_ptsz - the per-thread-stream form, counted */
SHIM_EXPORT CUresult cuStreamBeginCapture_ptsz(CUstream stream)
{
	shim_init();
	return capture_begun(shim.real.cuStreamBeginCapture_ptsz(stream));
}

/** cuStreamBeginCapture_v2 - the driver's, counted */
SHIM_EXPORT CUresult cuStreamBeginCapture_v2(CUstream stream, CUstreamCaptureMode mode)
{
	shim_init();
	return capture_begun(shim.real.cuStreamBeginCapture_v2(stream, mode));
}

/** cuStreamBeginCapture_v2_ptsz - the per-thread-stream form, counted */
SHIM_EXPORT CUresult cuStreamBeginCapture_v2_ptsz(CUstream stream, CUstreamCaptureMode mode)
{
	shim_init();
	return capture_begun(shim.real.cuStreamBeginCapture_v2_ptsz(stream, mode));
}

/** cuStreamBeginCaptureToGraph - the driver's (CUDA 12.3), counted */
SHIM_EXPORT CUresult cuStreamBeginCaptureToGraph(CUstream stream, CUgraph graph,
						 const CUgraphNode *deps,
						 const CUgraphEdgeData *edges, size_t nr_deps,
						 CUstreamCaptureMode mode)
{
	shim_init();
	return capture_begun(shim.real.cuStreamBeginCaptureToGraph(stream, graph, deps, edges,
								   nr_deps, mode));
}

/** cuStreamBeginCaptureToGraph_ptsz - the per-thread-stream form, counted */
SHIM_EXPORT CUresult cuStreamBeginCaptureToGraph_ptsz(CUstream stream, CUgraph graph,
						      const CUgraphNode *deps,
						      const CUgraphEdgeData *edges,
						      size_t nr_deps, CUstreamCaptureMode mode)
{
	shim_init();
	return capture_begun(shim.real.cuStreamBeginCaptureToGraph_ptsz(stream, graph, deps,
									edges, nr_deps, mode));
}

/** cuStreamEndCapture - the driver's, counted */
SHIM_EXPORT CUresult cuStreamEndCapture(CUstream stream, CUgraph *graph)
{
	bool was;

	shim_init();
	was = capturing_exactly(stream, false);
	return capture_ended(shim.real.cuStreamEndCapture(stream, graph), was, stream, false);
}

/** cuStreamEndCapture_ptsz - the per-thread-stream form, counted */
SHIM_EXPORT CUresult cuStreamEndCapture_ptsz(CUstream stream, CUgraph *graph)
{
	bool was;

	shim_init();
	was = capturing_exactly(stream, true);
	return capture_ended(shim.real.cuStreamEndCapture_ptsz(stream, graph), was, stream,
			     true);
}
