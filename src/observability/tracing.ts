import { context, SpanStatusCode, trace, type Attributes, type Span, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider, SimpleSpanProcessor, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-node';

/**
 * OpenTelemetry traces: one span per HTTP request and child spans for the phases of a sync (read, plan, write per
 * entity, indexing, commit), exported over OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT is set.
 *
 * Off (the default) it costs nothing: no provider is registered, `withSpan` calls its function directly and no
 * span object is made. The API is tiny on purpose, so that the pipeline's call sites stay one line each.
 */

let tracer: Tracer | undefined;
let provider: NodeTracerProvider | undefined;

export interface TracingOptions {
  /** The OTLP/HTTP endpoint (`http://collector:4318`); traces go to `<endpoint>/v1/traces`. */
  endpoint?: string;
  serviceName: string;
  /** Tests: spans go here, synchronously (the SDK's in-memory exporter), instead of OTLP. */
  exporter?: SpanExporter;
}

/** Starts tracing when an endpoint (or a test's exporter) is given; returns how to flush and stop it. */
export function startTracing(opts: TracingOptions): { shutdown(): Promise<void> } {
  if (!opts.endpoint && !opts.exporter) return { shutdown: async () => undefined };
  const processor: SpanProcessor = opts.exporter
    ? new SimpleSpanProcessor(opts.exporter)
    : new BatchSpanProcessor(new OTLPTraceExporter({ url: `${opts.endpoint!.replace(/\/+$/, '')}/v1/traces` }));
  provider = new NodeTracerProvider({ resource: resourceFromAttributes({ 'service.name': opts.serviceName }), spanProcessors: [processor] });
  // Registers the provider and the AsyncLocalStorage context manager: spans made inside a request are its children.
  provider.register();
  tracer = provider.getTracer('bulksync');
  const current = provider;
  return {
    shutdown: async () => {
      if (provider === current) {
        tracer = undefined;
        provider = undefined;
      }
      await current.shutdown();
      trace.disable();
      context.disable();
    },
  };
}

/** Spans finished but not yet exported are exported now (tests; a clean shutdown does it too). */
export async function flushTraces(): Promise<void> {
  await provider?.forceFlush();
}

function ended(span: Span, error?: unknown): void {
  if (error !== undefined) {
    span.recordException(error instanceof Error ? error : String(error));
    span.setStatus({ code: SpanStatusCode.ERROR });
  }
  span.end();
}

/**
 * Runs `fn` in a child span of the current one, named `name`, with `attrs`, and `after(result)`'s attributes once
 * it returns (record counts known only then). Without tracing: `fn()`, nothing else.
 */
export function withSpan<T>(name: string, attrs: Attributes, fn: () => T, after?: (result: Awaited<T>) => Attributes): T {
  if (!tracer) return fn();
  return tracer.startActiveSpan(name, { attributes: attrs }, (span) => {
    let result: T;
    try {
      result = fn();
    } catch (e) {
      ended(span, e);
      throw e;
    }
    if (result instanceof Promise) {
      return result.then(
        (v: Awaited<T>) => {
          if (after) span.setAttributes(after(v));
          ended(span);
          return v;
        },
        (e: unknown) => {
          ended(span, e);
          throw e;
        },
      ) as T;
    }
    if (after) span.setAttributes(after(result as Awaited<T>));
    ended(span);
    return result;
  });
}

/** A request's span: started when it arrives, everything of the request runs inside it, ended with its answer. */
export interface RequestSpan {
  traceId: string;
  run<T>(fn: () => T): T;
  end(name: string, attrs: Attributes, failed: boolean): void;
}

/** The span of an incoming request, or undefined when tracing is off. */
export function startRequestSpan(name: string, attrs: Attributes): RequestSpan | undefined {
  if (!tracer) return undefined;
  const span = tracer.startSpan(name, { attributes: attrs });
  const ctx = trace.setSpan(context.active(), span);
  return {
    traceId: span.spanContext().traceId,
    run: (fn) => context.with(ctx, fn),
    end: (final, endAttrs, failed) => {
      span.updateName(final);
      span.setAttributes(endAttrs);
      if (failed) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    },
  };
}
