// A turn's trace id: a link to the trace in the tracing back end when ADMIN_TRACE_URL names one, and copyable.
import { useSession } from './session';
import { CopyText } from './ui';

export function TraceId({ traceId }: { traceId: string }) {
  const { traceUrl } = useSession();
  return (
    <span class="trace-id">
      {traceUrl && (
        <a
          href={traceUrl.replaceAll('{traceId}', encodeURIComponent(traceId))}
          target="_blank"
          rel="noopener noreferrer"
        >
          Open trace<span class="visually-hidden"> {traceId}</span>
        </a>
      )}{' '}
      <CopyText text={traceId} label="trace id" />
    </span>
  );
}
