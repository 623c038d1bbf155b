// SPDX-License-Identifier: MIT
/*
 * stream.c - streams, events and stream capture.
 *
 * All work runs synchronously when it is issued, so every stream is always
 * idle and every recorded event complete.  Capture only tracks a status:
 * work issued to a capturing stream still runs at once, no graph is built.
 */
#include <stdlib.h>
#include <time.h>

#include "cudasim.h"
#include "abi.h"

struct cs_stream {
	uint32_t magic;
	struct cs_ctx *ctx;
	unsigned int flags;
	int priority;
	CUstreamCaptureStatus capture;
	CUstreamCaptureMode capture_mode;
	cuuint64_t capture_id;
	unsigned long long id;		/* cuStreamGetId */
	struct cs_stream *next;
};

struct cs_event {
	uint32_t magic;
	unsigned int flags;
	bool recorded;
	struct timespec when;		/* CLOCK_MONOTONIC of the last record */
	struct cs_event *next;
};

static struct cs_stream *streams;	/* by cs.lock */
/* ids 1 and 2 name the legacy and per-thread streams (the driver's own
 * values are undocumented: only uniqueness is promised) */
static unsigned long long cs_next_stream_id = 2;	/* by cs.lock */
static struct cs_event *events;		/* by cs.lock */

static bool cs_is_null_stream(CUstream s)
{
	return !s || s == CU_STREAM_LEGACY || s == CU_STREAM_PER_THREAD;
}

static struct cs_stream *__stream_find(CUstream s)
{
	struct cs_stream *p;

	for (p = streams; p; p = p->next)
		if (p == (struct cs_stream *)s)
			return p;
	return NULL;
}

static struct cs_event *__event_find(CUevent e)
{
	struct cs_event *p;

	for (p = events; p; p = p->next)
		if (p == (struct cs_event *)e)
			return p;
	return NULL;
}

CUresult __cs_stream_check(CUstream s, struct cs_ctx *ctx)
{
	(void)ctx;
	if (cs_is_null_stream(s) || __stream_find(s))
		return CUDA_SUCCESS;
	return CUDA_ERROR_INVALID_HANDLE;
}

bool __cs_any_global_capture(void)
{
	struct cs_stream *p;

	for (p = streams; p; p = p->next)
		if (p->capture == CU_STREAM_CAPTURE_STATUS_ACTIVE &&
		    p->capture_mode != CU_STREAM_CAPTURE_MODE_RELAXED)
			return true;
	return false;
}

/* An unsafe call during capture invalidates the captures it breaks. */
void __cs_invalidate_global_captures(void)
{
	struct cs_stream *p;

	for (p = streams; p; p = p->next)
		if (p->capture == CU_STREAM_CAPTURE_STATUS_ACTIVE &&
		    p->capture_mode != CU_STREAM_CAPTURE_MODE_RELAXED)
			p->capture = CU_STREAM_CAPTURE_STATUS_INVALIDATED;
}

static CUresult stream_create(CUstream *phStream, unsigned int flags, int priority)
{
	struct cs_stream *s;
	struct cs_ctx *ctx;
	CUresult res;

	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!phStream || (flags & ~(unsigned int)CU_STREAM_NON_BLOCKING))
		return CUDA_ERROR_INVALID_VALUE;
	s = calloc(1, sizeof(*s));
	if (!s)
		return CUDA_ERROR_OUT_OF_MEMORY;
	cs_lock();
	res = __cs_need_ctx(&ctx);
	if (res != CUDA_SUCCESS) {
		cs_unlock();
		free(s);
		return res;
	}
	s->magic = CS_STREAM_MAGIC;
	s->ctx = ctx;
	s->flags = flags;
	s->priority = priority < -5 ? -5 : priority > 0 ? 0 : priority;
	s->id = ++cs_next_stream_id;
	s->next = streams;
	streams = s;
	cs.nr_streams++;
	cs_unlock();
	*phStream = (CUstream)s;
	return CUDA_SUCCESS;
}

CS_API CUresult cuStreamCreate(CUstream *phStream, unsigned int Flags)
{
	CS_ENTER("cuStreamCreate");
	return stream_create(phStream, Flags, 0);
}

CS_API CUresult cuStreamCreateWithPriority(CUstream *phStream, unsigned int flags, int priority)
{
	CS_ENTER("cuStreamCreateWithPriority");
	return stream_create(phStream, flags, priority);
}

static CUresult stream_destroy(CUstream hStream)
{
	struct cs_stream **pp;
	CUresult res = CUDA_ERROR_INVALID_HANDLE;

	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	cs_lock();
	for (pp = &streams; *pp; pp = &(*pp)->next) {
		if (*pp == (struct cs_stream *)hStream) {
			struct cs_stream *s = *pp;

			*pp = s->next;
			cs.nr_streams--;
			free(s);
			res = CUDA_SUCCESS;
			break;
		}
	}
	cs_unlock();
	return res;
}

CS_API CUresult cuStreamDestroy_v2(CUstream hStream)
{
	CS_ENTER("cuStreamDestroy");
	return stream_destroy(hStream);
}

CS_API CUresult cuStreamDestroy(CUstream hStream)
{
	CS_ENTER("cuStreamDestroy");
	return stream_destroy(hStream);
}

/* Query and synchronize: always complete, but illegal on a capture. */
static CUresult stream_wait(CUstream hStream)
{
	struct cs_stream *s;
	CUresult res = CUDA_SUCCESS;

	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	cs_lock();
	if (cs_is_null_stream(hStream)) {
		struct cs_ctx *ctx;

		res = __cs_need_ctx(&ctx);
		if (res == CUDA_SUCCESS && hStream != CU_STREAM_PER_THREAD &&
		    __cs_any_global_capture())
			res = CUDA_ERROR_STREAM_CAPTURE_IMPLICIT;
	} else if (!(s = __stream_find(hStream))) {
		res = CUDA_ERROR_INVALID_HANDLE;
	} else if (s->capture != CU_STREAM_CAPTURE_STATUS_NONE) {
		s->capture = CU_STREAM_CAPTURE_STATUS_INVALIDATED;
		res = CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED;
	}
	cs_unlock();
	return res;
}

CS_API CUresult cuStreamQuery(CUstream hStream)
{
	CS_ENTER("cuStreamQuery");
	return stream_wait(hStream);
}

CS_API CUresult cuStreamQuery_ptsz(CUstream hStream) __attribute__((alias("cuStreamQuery")));

CS_API CUresult cuStreamSynchronize(CUstream hStream)
{
	CS_ENTER("cuStreamSynchronize");
	return stream_wait(hStream);
}

CS_API CUresult cuStreamSynchronize_ptsz(CUstream hStream)
	__attribute__((alias("cuStreamSynchronize")));

CS_API CUresult cuStreamWaitEvent(CUstream hStream, CUevent hEvent, unsigned int Flags)
{
	CUresult res = CUDA_SUCCESS;

	CS_ENTER("cuStreamWaitEvent");
	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (Flags & ~1u)
		return CUDA_ERROR_INVALID_VALUE;
	cs_lock();
	if (!cs_is_null_stream(hStream) && !__stream_find(hStream))
		res = CUDA_ERROR_INVALID_HANDLE;
	else if (!__event_find(hEvent))
		res = CUDA_ERROR_INVALID_HANDLE;
	cs_unlock();
	return res;
}

CS_API CUresult cuStreamWaitEvent_ptsz(CUstream hStream, CUevent hEvent, unsigned int Flags)
	__attribute__((alias("cuStreamWaitEvent")));

CS_API CUresult cuStreamGetCtx(CUstream hStream, CUcontext *pctx)
{
	struct cs_stream *s;
	CUresult res = CUDA_SUCCESS;

	CS_ENTER("cuStreamGetCtx");
	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!pctx)
		return CUDA_ERROR_INVALID_VALUE;
	cs_lock();
	if (cs_is_null_stream(hStream)) {
		struct cs_ctx *ctx;

		res = __cs_need_ctx(&ctx);
		if (res == CUDA_SUCCESS)
			*pctx = (CUcontext)ctx;
	} else if ((s = __stream_find(hStream))) {
		*pctx = (CUcontext)s->ctx;
	} else {
		res = CUDA_ERROR_INVALID_HANDLE;
	}
	cs_unlock();
	return res;
}

CS_API CUresult cuStreamGetCtx_ptsz(CUstream hStream, CUcontext *pctx)
	__attribute__((alias("cuStreamGetCtx")));

CS_API CUresult cuStreamGetFlags(CUstream hStream, unsigned int *flags)
{
	struct cs_stream *s;
	CUresult res = CUDA_SUCCESS;

	CS_ENTER("cuStreamGetFlags");
	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!flags)
		return CUDA_ERROR_INVALID_VALUE;
	cs_lock();
	if (cs_is_null_stream(hStream))
		*flags = 0;
	else if ((s = __stream_find(hStream)))
		*flags = s->flags;
	else
		res = CUDA_ERROR_INVALID_HANDLE;
	cs_unlock();
	return res;
}

CS_API CUresult cuStreamGetFlags_ptsz(CUstream hStream, unsigned int *flags)
	__attribute__((alias("cuStreamGetFlags")));

/* ---- capture ---- */

static CUresult stream_begin_capture(CUstream hStream, CUstreamCaptureMode mode)
{
	struct cs_stream *s;
	CUresult res = CUDA_SUCCESS;

	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (mode != CU_STREAM_CAPTURE_MODE_GLOBAL && mode != CU_STREAM_CAPTURE_MODE_THREAD_LOCAL &&
	    mode != CU_STREAM_CAPTURE_MODE_RELAXED)
		return CUDA_ERROR_INVALID_VALUE;
	if (cs_is_null_stream(hStream))
		return CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED;
	cs_lock();
	s = __stream_find(hStream);
	if (!s) {
		res = CUDA_ERROR_INVALID_HANDLE;
	} else if (s->capture != CU_STREAM_CAPTURE_STATUS_NONE) {
		res = CUDA_ERROR_ILLEGAL_STATE;
	} else {
		s->capture = CU_STREAM_CAPTURE_STATUS_ACTIVE;
		s->capture_mode = mode;
		s->capture_id = cs.next_capture_id++;
	}
	cs_unlock();
	return res;
}

CS_API CUresult cuStreamBeginCapture_v2(CUstream hStream, CUstreamCaptureMode mode)
{
	CS_ENTER("cuStreamBeginCapture");
	return stream_begin_capture(hStream, mode);
}

CS_API CUresult cuStreamBeginCapture_v2_ptsz(CUstream hStream, CUstreamCaptureMode mode)
	__attribute__((alias("cuStreamBeginCapture_v2")));

CS_API CUresult cuStreamBeginCapture(CUstream hStream)
{
	CS_ENTER("cuStreamBeginCapture");
	return stream_begin_capture(hStream, CU_STREAM_CAPTURE_MODE_GLOBAL);
}

CS_API CUresult cuStreamBeginCapture_ptsz(CUstream hStream)
	__attribute__((alias("cuStreamBeginCapture")));

CS_API CUresult cuStreamEndCapture(CUstream hStream, CUgraph *phGraph)
{
	struct cs_stream *s;
	CUresult res = CUDA_SUCCESS;

	CS_ENTER("cuStreamEndCapture");
	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!phGraph)
		return CUDA_ERROR_INVALID_VALUE;
	cs_lock();
	s = cs_is_null_stream(hStream) ? NULL : __stream_find(hStream);
	if (!s) {
		res = cs_is_null_stream(hStream) ? CUDA_ERROR_ILLEGAL_STATE
						 : CUDA_ERROR_INVALID_HANDLE;
	} else if (s->capture == CU_STREAM_CAPTURE_STATUS_NONE) {
		res = CUDA_ERROR_ILLEGAL_STATE;
	} else {
		if (s->capture == CU_STREAM_CAPTURE_STATUS_INVALIDATED)
			res = CUDA_ERROR_STREAM_CAPTURE_INVALIDATED;
		s->capture = CU_STREAM_CAPTURE_STATUS_NONE;
		*phGraph = NULL;	/* cudasim builds no graphs */
	}
	cs_unlock();
	return res;
}

CS_API CUresult cuStreamEndCapture_ptsz(CUstream hStream, CUgraph *phGraph)
	__attribute__((alias("cuStreamEndCapture")));

static CUresult stream_capture_info(CUstream hStream, CUstreamCaptureStatus *status,
				    cuuint64_t *id)
{
	struct cs_stream *s;
	CUresult res = CUDA_SUCCESS;

	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!status)
		return CUDA_ERROR_INVALID_VALUE;
	cs_lock();
	if (cs_is_null_stream(hStream)) {
		*status = CU_STREAM_CAPTURE_STATUS_NONE;
		/* Asking about the legacy stream during a global capture is
		 * itself an implicit synchronization. */
		if (hStream != CU_STREAM_PER_THREAD && __cs_any_global_capture())
			res = CUDA_ERROR_STREAM_CAPTURE_IMPLICIT;
	} else if ((s = __stream_find(hStream))) {
		*status = s->capture;
		if (id && s->capture != CU_STREAM_CAPTURE_STATUS_NONE)
			*id = s->capture_id;
	} else {
		res = CUDA_ERROR_INVALID_HANDLE;
	}
	cs_unlock();
	return res;
}

CS_API CUresult cuStreamIsCapturing(CUstream hStream, CUstreamCaptureStatus *captureStatus)
{
	CS_ENTER("cuStreamIsCapturing");
	return stream_capture_info(hStream, captureStatus, NULL);
}

CS_API CUresult cuStreamIsCapturing_ptsz(CUstream hStream, CUstreamCaptureStatus *captureStatus)
	__attribute__((alias("cuStreamIsCapturing")));

CS_API CUresult cuStreamGetCaptureInfo(CUstream hStream, CUstreamCaptureStatus *captureStatus_out,
				       cuuint64_t *id_out)
{
	CS_ENTER("cuStreamGetCaptureInfo");
	return stream_capture_info(hStream, captureStatus_out, id_out);
}

CS_API CUresult cuStreamGetCaptureInfo_ptsz(CUstream hStream,
					    CUstreamCaptureStatus *captureStatus_out,
					    cuuint64_t *id_out)
	__attribute__((alias("cuStreamGetCaptureInfo")));

CS_API CUresult cuStreamGetCaptureInfo_v2(CUstream hStream,
					  CUstreamCaptureStatus *captureStatus_out,
					  cuuint64_t *id_out, CUgraph *graph_out,
					  const CUgraphNode **dependencies_out,
					  size_t *numDependencies_out)
{
	CUresult res;

	CS_ENTER("cuStreamGetCaptureInfo");
	res = stream_capture_info(hStream, captureStatus_out, id_out);
	if (res != CUDA_SUCCESS)
		return res;
	if (graph_out)
		*graph_out = NULL;
	if (dependencies_out)
		*dependencies_out = NULL;
	if (numDependencies_out)
		*numDependencies_out = 0;
	return CUDA_SUCCESS;
}

CS_API CUresult cuStreamGetCaptureInfo_v2_ptsz(CUstream hStream,
					       CUstreamCaptureStatus *captureStatus_out,
					       cuuint64_t *id_out, CUgraph *graph_out,
					       const CUgraphNode **dependencies_out,
					       size_t *numDependencies_out)
	__attribute__((alias("cuStreamGetCaptureInfo_v2")));

/* CUDA 12.3+: one more out-parameter, the edge data. */
CS_API CUresult cuStreamGetCaptureInfo_v3(CUstream hStream,
					  CUstreamCaptureStatus *captureStatus_out,
					  cuuint64_t *id_out, CUgraph *graph_out,
					  const CUgraphNode **dependencies_out,
					  const void **edgeData_out, size_t *numDependencies_out)
{
	CUresult res;

	CS_ENTER("cuStreamGetCaptureInfo");
	res = stream_capture_info(hStream, captureStatus_out, id_out);
	if (res != CUDA_SUCCESS)
		return res;
	if (graph_out)
		*graph_out = NULL;
	if (dependencies_out)
		*dependencies_out = NULL;
	if (edgeData_out)
		*edgeData_out = NULL;
	if (numDependencies_out)
		*numDependencies_out = 0;
	return CUDA_SUCCESS;
}

CS_API CUresult cuStreamGetCaptureInfo_v3_ptsz(CUstream hStream,
					       CUstreamCaptureStatus *captureStatus_out,
					       cuuint64_t *id_out, CUgraph *graph_out,
					       const CUgraphNode **dependencies_out,
					       const void **edgeData_out,
					       size_t *numDependencies_out)
	__attribute__((alias("cuStreamGetCaptureInfo_v3")));

/* ---- events ---- */

CS_API CUresult cuEventCreate(CUevent *phEvent, unsigned int Flags)
{
	struct cs_event *e;
	struct cs_ctx *ctx;
	CUresult res;

	CS_ENTER("cuEventCreate");
	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!phEvent || (Flags & ~0x7u))
		return CUDA_ERROR_INVALID_VALUE;
	if ((Flags & CU_EVENT_INTERPROCESS) && !(Flags & CU_EVENT_DISABLE_TIMING))
		return CUDA_ERROR_INVALID_VALUE;
	e = calloc(1, sizeof(*e));
	if (!e)
		return CUDA_ERROR_OUT_OF_MEMORY;
	cs_lock();
	res = __cs_need_ctx(&ctx);
	if (res != CUDA_SUCCESS) {
		cs_unlock();
		free(e);
		return res;
	}
	e->magic = CS_EVENT_MAGIC;
	e->flags = Flags;
	e->next = events;
	events = e;
	cs.nr_events++;
	cs_unlock();
	*phEvent = (CUevent)e;
	return CUDA_SUCCESS;
}

static CUresult event_destroy(CUevent hEvent)
{
	struct cs_event **pp;
	CUresult res = CUDA_ERROR_INVALID_HANDLE;

	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	cs_lock();
	for (pp = &events; *pp; pp = &(*pp)->next) {
		if (*pp == (struct cs_event *)hEvent) {
			struct cs_event *e = *pp;

			*pp = e->next;
			cs.nr_events--;
			free(e);
			res = CUDA_SUCCESS;
			break;
		}
	}
	cs_unlock();
	return res;
}

CS_API CUresult cuEventDestroy_v2(CUevent hEvent)
{
	CS_ENTER("cuEventDestroy");
	return event_destroy(hEvent);
}

CS_API CUresult cuEventDestroy(CUevent hEvent)
{
	CS_ENTER("cuEventDestroy");
	return event_destroy(hEvent);
}

static CUresult event_record(CUevent hEvent, CUstream hStream)
{
	struct cs_event *e;
	CUresult res = CUDA_SUCCESS;

	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	cs_lock();
	e = __event_find(hEvent);
	if (!e || (!cs_is_null_stream(hStream) && !__stream_find(hStream))) {
		res = CUDA_ERROR_INVALID_HANDLE;
	} else {
		clock_gettime(CLOCK_MONOTONIC, &e->when);
		e->recorded = true;
	}
	cs_unlock();
	return res;
}

CS_API CUresult cuEventRecord(CUevent hEvent, CUstream hStream)
{
	CS_ENTER("cuEventRecord");
	return event_record(hEvent, hStream);
}

CS_API CUresult cuEventRecord_ptsz(CUevent hEvent, CUstream hStream)
	__attribute__((alias("cuEventRecord")));

/* Work completes when issued, so an event is always complete (also before
 * its first record, as the driver documents). */
static CUresult event_check(CUevent hEvent)
{
	CUresult res = CUDA_SUCCESS;

	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	cs_lock();
	if (!__event_find(hEvent))
		res = CUDA_ERROR_INVALID_HANDLE;
	cs_unlock();
	return res;
}

CS_API CUresult cuEventQuery(CUevent hEvent)
{
	CS_ENTER("cuEventQuery");
	return event_check(hEvent);
}

CS_API CUresult cuEventSynchronize(CUevent hEvent)
{
	CS_ENTER("cuEventSynchronize");
	return event_check(hEvent);
}

static CUresult event_elapsed(float *ms, CUevent hStart, CUevent hEnd)
{
	struct cs_event *a, *b;
	CUresult res = CUDA_SUCCESS;

	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!ms)
		return CUDA_ERROR_INVALID_VALUE;
	cs_lock();
	a = __event_find(hStart);
	b = __event_find(hEnd);
	if (!a || !b || !a->recorded || !b->recorded ||
	    ((a->flags | b->flags) & CU_EVENT_DISABLE_TIMING)) {
		res = CUDA_ERROR_INVALID_HANDLE;
	} else {
		*ms = (float)((b->when.tv_sec - a->when.tv_sec) * 1e3 +
			      (b->when.tv_nsec - a->when.tv_nsec) / 1e6);
	}
	cs_unlock();
	return res;
}

CS_API CUresult cuEventElapsedTime(float *pMilliseconds, CUevent hStart, CUevent hEnd)
{
	CS_ENTER("cuEventElapsedTime");
	return event_elapsed(pMilliseconds, hStart, hEnd);
}

CS_API CUresult cuEventElapsedTime_v2(float *pMilliseconds, CUevent hStart, CUevent hEnd)
{
	CS_ENTER("cuEventElapsedTime");
	return event_elapsed(pMilliseconds, hStart, hEnd);
}

/* ---- stream queries, host functions ---- */

/* The context of @hStream, the NULL stream's being the current one. */
static CUresult __stream_ctx(CUstream hStream, struct cs_stream **ps, struct cs_ctx **pctx)
{
	*ps = NULL;
	if (cs_is_null_stream(hStream))
		return __cs_need_ctx(pctx);
	*ps = __stream_find(hStream);
	if (!*ps)
		return CUDA_ERROR_INVALID_HANDLE;
	*pctx = (*ps)->ctx;
	return CUDA_SUCCESS;
}

CS_API CUresult cuStreamGetPriority(CUstream hStream, int *priority)
{
	struct cs_stream *s;
	struct cs_ctx *ctx;
	CUresult res;

	CS_ENTER("cuStreamGetPriority");
	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!priority)
		return CUDA_ERROR_INVALID_VALUE;
	cs_lock();
	res = __stream_ctx(hStream, &s, &ctx);
	if (res == CUDA_SUCCESS)
		*priority = s ? s->priority : 0;
	cs_unlock();
	return res;
}

CS_API CUresult cuStreamGetPriority_ptsz(CUstream hStream, int *priority)
	__attribute__((alias("cuStreamGetPriority")));

CS_API CUresult cuStreamGetDevice(CUstream hStream, CUdevice *device)
{
	struct cs_stream *s;
	struct cs_ctx *ctx;
	CUresult res;

	CS_ENTER("cuStreamGetDevice");
	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!device)
		return CUDA_ERROR_INVALID_VALUE;
	cs_lock();
	res = __stream_ctx(hStream, &s, &ctx);
	if (res == CUDA_SUCCESS)
		*device = ctx->dev;
	cs_unlock();
	return res;
}

CS_API CUresult cuStreamGetDevice_ptsz(CUstream hStream, CUdevice *device)
	__attribute__((alias("cuStreamGetDevice")));

/* The NULL stream is the legacy one (1) unless per-thread is named (2). */
static CUresult stream_get_id(CUstream hStream, unsigned long long *id, bool per_thread)
{
	struct cs_stream *s;
	struct cs_ctx *ctx;
	CUresult res;

	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!id)
		return CUDA_ERROR_INVALID_VALUE;
	cs_lock();
	res = __stream_ctx(hStream, &s, &ctx);
	if (res == CUDA_SUCCESS && s)
		*id = s->id;
	else if (res == CUDA_SUCCESS)
		*id = hStream == CU_STREAM_PER_THREAD || (!hStream && per_thread) ? 2 : 1;
	cs_unlock();
	return res;
}

CS_API CUresult cuStreamGetId(CUstream hStream, unsigned long long *streamId)
{
	CS_ENTER("cuStreamGetId");
	return stream_get_id(hStream, streamId, false);
}

CS_API CUresult cuStreamGetId_ptsz(CUstream hStream, unsigned long long *streamId)
{
	CS_ENTER("cuStreamGetId");
	return stream_get_id(hStream, streamId, true);
}

/*
 * Work is done when issued, so a host function runs at once, in the
 * calling thread, without cs.lock: it may not call the driver (as
 * documented), but nothing stops it from trying.
 */
static CUresult stream_host_call(CUstream hStream)
{
	struct cs_stream *s;
	struct cs_ctx *ctx;
	CUresult res;

	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	cs_lock();
	res = __stream_ctx(hStream, &s, &ctx);
	cs_unlock();
	return res;
}

CS_API CUresult cuLaunchHostFunc(CUstream hStream, CUhostFn fn, void *userData)
{
	CUresult res;

	CS_ENTER("cuLaunchHostFunc");
	if (!fn)
		return cs_check_init() ? CUDA_ERROR_NOT_INITIALIZED : CUDA_ERROR_INVALID_VALUE;
	res = stream_host_call(hStream);
	if (res == CUDA_SUCCESS)
		fn(userData);
	return res;
}

CS_API CUresult cuLaunchHostFunc_ptsz(CUstream hStream, CUhostFn fn, void *userData)
	__attribute__((alias("cuLaunchHostFunc")));

CS_API CUresult cuStreamAddCallback(CUstream hStream, CUstreamCallback callback, void *userData,
				    unsigned int flags)
{
	CUresult res;

	CS_ENTER("cuStreamAddCallback");
	if (!callback || flags)
		return cs_check_init() ? CUDA_ERROR_NOT_INITIALIZED : CUDA_ERROR_INVALID_VALUE;
	res = stream_host_call(hStream);
	if (res == CUDA_SUCCESS)
		callback(hStream, CUDA_SUCCESS, userData);
	return res;
}

CS_API CUresult cuStreamAddCallback_ptsz(CUstream hStream, CUstreamCallback callback,
					 void *userData, unsigned int flags)
	__attribute__((alias("cuStreamAddCallback")));

/* CU_EVENT_RECORD_EXTERNAL only changes what a capture records. */
CS_API CUresult cuEventRecordWithFlags(CUevent hEvent, CUstream hStream, unsigned int flags)
{
	CS_ENTER("cuEventRecordWithFlags");
	if (flags & ~(unsigned int)CU_EVENT_RECORD_EXTERNAL)
		return cs_check_init() ? CUDA_ERROR_NOT_INITIALIZED : CUDA_ERROR_INVALID_VALUE;
	return event_record(hEvent, hStream);
}

CS_API CUresult cuEventRecordWithFlags_ptsz(CUevent hEvent, CUstream hStream, unsigned int flags)
	__attribute__((alias("cuEventRecordWithFlags")));

/* The calling thread's capture mode: what cudaStreamBeginCapture checks. */
static __thread int thread_capture_mode = CU_STREAM_CAPTURE_MODE_GLOBAL;

CS_API CUresult cuThreadExchangeStreamCaptureMode(CUstreamCaptureMode *mode)
{
	int old;

	CS_ENTER("cuThreadExchangeStreamCaptureMode");
	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!mode || *mode < CU_STREAM_CAPTURE_MODE_GLOBAL ||
	    *mode > CU_STREAM_CAPTURE_MODE_RELAXED)
		return CUDA_ERROR_INVALID_VALUE;
	old = thread_capture_mode;
	thread_capture_mode = *mode;
	*mode = (CUstreamCaptureMode)old;
	return CUDA_SUCCESS;
}
