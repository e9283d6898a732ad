// The CA console (issue 6), served by the CA at /admin/: registrations to
// approve or reject (with the real identity only the CA sees), issued
// certificates with revocation, and the revocations the CRL lists. Every call
// is a /v1/admin/… route the CLI also has (`quittance ca list [--certificates]`,
// `ca approve`, `ca reject`, `ca revoke`, `ca show`).
import { render } from 'preact';
import { useState } from 'preact/hooks';
import { errorText } from '../../shared/api.ts';
import { Layout } from '../../shared/layout.tsx';
import { OperatorLogin, type OperatorApi } from '../../shared/login.tsx';
import { DataTable, Section, ShortId, StateBadge, Time, useHashTab, useLoaded } from '../payment-admin/console-kit.tsx';

type Registration = {
  registrationId: string;
  status: string;
  role: string;
  displayName: string;
  realIdentity: { name: string; postalAddress: string; email: string };
  partyId?: string;
  createdAt: string;
  decidedAt?: string;
  decidedBy?: string;
  identityCheck?: string;
  rejectReason?: string;
  certificateSerial?: string;
};
type Certificate = {
  serial: string;
  partyId: string;
  role: string;
  displayName: string;
  fingerprint: string;
  notBefore: string;
  notAfter: string;
  revokedAt?: string;
  revocationReason?: string;
  registrationId?: string;
};

const TABS = [
  { id: 'registrations', label: 'Registrations' },
  { id: 'certificates', label: 'Certificates' },
  { id: 'revocations', label: 'Revocations' },
];

// RFC 5280 §5.3.1 reasons the CA takes (src/protocol/messages/ca.ts REVOCATION_REASONS).
const REASONS = ['unspecified', 'keyCompromise', 'affiliationChanged', 'superseded', 'cessationOfOperation', 'privilegeWithdrawn'];

type Decision = { id: string; kind: 'approve' | 'reject' };

function DecisionForm(props: { call: OperatorApi; decision: Decision; registration: Registration; done: (message: string) => void; cancel: () => void }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const r = props.registration;
  const approve = props.decision.kind === 'approve';
  const submit = async (ev: Event) => {
    ev.preventDefault();
    const form = new FormData(ev.currentTarget as HTMLFormElement);
    const text = (form.get('text') ?? '').toString().trim();
    const partyId = (form.get('partyId') ?? '').toString().trim();
    setBusy(true);
    try {
      if (approve) {
        await props.call(`/v1/admin/registrations/${r.registrationId}/approve`, { method: 'POST', body: { identityCheck: text, ...(partyId ? { partyId } : {}) } });
        props.done(`Approved: "${r.displayName}" has its certificate.`);
      } else {
        await props.call(`/v1/admin/registrations/${r.registrationId}/reject`, { method: 'POST', body: { reason: text } });
        props.done(`Rejected: "${r.displayName}".`);
      }
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="card" aria-labelledby="decision-title" data-testid="decision">
      <h3 id="decision-title" style="margin-top: 0">
        {approve ? 'Approve' : 'Reject'} “{r.displayName}” ({r.role})
      </h3>
      <p class="muted">
        Real identity: {r.realIdentity.name}, {r.realIdentity.postalAddress}, {r.realIdentity.email}
      </p>
      {error && <div class="notice error" role="alert">{error}</div>}
      <form onSubmit={(e) => void submit(e)}>
        <label for="decision-text">{approve ? 'How the real identity was checked' : 'Reason (the applicant sees it)'}</label>
        <input id="decision-text" name="text" required maxLength={500} autoFocus />
        {approve && (
          <>
            <label for="decision-party">Party id (optional; generated otherwise)</label>
            <input id="decision-party" name="partyId" maxLength={64} pattern="[a-z0-9][a-z0-9._-]*" />
          </>
        )}
        <div class="actions">
          <button type="submit" class={approve ? 'primary' : 'danger'} disabled={busy}>
            {approve ? 'Approve and issue' : 'Reject'}
          </button>
          <button type="button" onClick={props.cancel}>
            Cancel
          </button>
        </div>
      </form>
    </section>
  );
}

function Registrations(props: { call: OperatorApi }) {
  const [status, setStatus] = useState('pending');
  const regs = useLoaded(() => props.call<{ registrations: Registration[] }>(`/v1/admin/registrations?limit=1000${status === 'all' ? '' : `&status=${status}`}`), [status]);
  const [decision, setDecision] = useState<Decision | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const rows = regs.data?.registrations ?? [];
  const open = rows.find((r) => r.registrationId === decision?.id);
  return (
    <Section
      title="Registrations"
      loaded={regs}
      actions={
        <>
          <label for="reg-status" class="visually-hidden">
            Status
          </label>
          <select id="reg-status" value={status} onChange={(e) => setStatus((e.currentTarget as HTMLSelectElement).value)} style="width: auto">
            <option value="pending">pending</option>
            <option value="approved">approved</option>
            <option value="rejected">rejected</option>
            <option value="all">all</option>
          </select>
        </>
      }
    >
      {message && <div class="notice ok" role="status">{message}</div>}
      {decision && open && (
        <DecisionForm
          call={props.call}
          decision={decision}
          registration={open}
          cancel={() => setDecision(null)}
          done={(m) => {
            setDecision(null);
            setMessage(m);
            regs.reload();
          }}
        />
      )}
      <DataTable
        caption="Registrations"
        testid="registrations"
        rows={rows}
        rowKey={(r) => r.registrationId}
        empty={`No ${status === 'all' ? '' : `${status} `}registrations.`}
        columns={[
          { label: 'Received', cell: (r) => <Time iso={r.createdAt} /> },
          { label: 'Display name', cell: (r) => r.displayName },
          { label: 'Role', cell: (r) => r.role },
          {
            label: 'Real identity',
            cell: (r) => (
              <>
                {r.realIdentity.name}
                <br />
                <span class="muted">{r.realIdentity.email}</span>
              </>
            ),
          },
          { label: 'Status', cell: (r) => <StateBadge state={r.status} /> },
          { label: 'Party id', cell: (r) => r.partyId ?? '' },
          {
            label: 'Decision',
            cell: (r) =>
              r.status === 'pending' ? (
                <div class="row">
                  <button type="button" class="primary" onClick={() => setDecision({ id: r.registrationId, kind: 'approve' })} aria-label={`Approve ${r.displayName}`}>
                    Approve…
                  </button>
                  <button type="button" onClick={() => setDecision({ id: r.registrationId, kind: 'reject' })} aria-label={`Reject ${r.displayName}`}>
                    Reject…
                  </button>
                </div>
              ) : (
                <span class="muted">
                  {r.decidedBy ?? ''} {r.identityCheck ?? r.rejectReason ?? ''}
                </span>
              ),
          },
        ]}
      />
    </Section>
  );
}

function RevokeCell(props: { call: OperatorApi; cert: Certificate; done: (message: string) => void; failed: (message: string) => void }) {
  const [reason, setReason] = useState('unspecified');
  const [busy, setBusy] = useState(false);
  const c = props.cert;
  if (c.revokedAt) return <StateBadge state="revoked" label={`revoked (${c.revocationReason ?? 'unspecified'})`} />;
  const revoke = async () => {
    if (!confirm(`Revoke the certificate of "${c.displayName}" (${c.partyId}, serial ${c.serial})? This cannot be undone; the next CRL lists it.`)) return;
    setBusy(true);
    try {
      await props.call(`/v1/admin/certificates/${c.serial}/revoke`, { method: 'POST', body: { reason } });
      props.done(`Revoked "${c.displayName}" (serial ${c.serial}).`);
    } catch (e) {
      props.failed(errorText(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="row">
      <label for={`reason-${c.serial}`} class="visually-hidden">
        Reason for revoking {c.displayName}
      </label>
      <select id={`reason-${c.serial}`} value={reason} onChange={(e) => setReason((e.currentTarget as HTMLSelectElement).value)} style="width: auto">
        {REASONS.map((r) => (
          <option value={r} key={r}>
            {r}
          </option>
        ))}
      </select>
      <button type="button" class="danger" disabled={busy} onClick={() => void revoke()} aria-label={`Revoke ${c.displayName}`}>
        Revoke
      </button>
    </div>
  );
}

function Certificates(props: { call: OperatorApi; revokedOnly: boolean }) {
  const certs = useLoaded(() => props.call<{ certificates: Certificate[] }>('/v1/admin/certificates?limit=1000'), []);
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const rows = (certs.data?.certificates ?? []).filter((c) => !props.revokedOnly || c.revokedAt !== undefined);
  return (
    <Section title={props.revokedOnly ? 'Revocations' : 'Certificates'} loaded={certs}>
      {props.revokedOnly && (
        <p class="muted">
          Every party checks certificates against the CRL: <a href="/v1/ca/crl.pem">/v1/ca/crl.pem</a> (DER at <code>/v1/ca/crl</code>).
        </p>
      )}
      {message && (
        <div class={`notice ${message.ok ? 'ok' : 'error'}`} role={message.ok ? 'status' : 'alert'}>
          {message.text}
        </div>
      )}
      <DataTable
        caption={props.revokedOnly ? 'Revoked certificates' : 'Issued certificates'}
        testid={props.revokedOnly ? 'revocations' : 'certificates'}
        rows={rows}
        rowKey={(c) => c.serial}
        empty={props.revokedOnly ? 'Nothing revoked.' : 'No certificates issued yet.'}
        columns={[
          { label: 'Display name', cell: (c) => c.displayName },
          { label: 'Party id', cell: (c) => c.partyId },
          { label: 'Role', cell: (c) => c.role },
          { label: 'Valid until', cell: (c) => <Time iso={c.notAfter} /> },
          { label: 'Serial', cell: (c) => <ShortId id={c.serial} /> },
          { label: 'SHA-256', cell: (c) => <ShortId id={c.fingerprint} /> },
          props.revokedOnly
            ? { label: 'Revoked', cell: (c) => <><Time iso={c.revokedAt} /> <span class="muted">{c.revocationReason}</span></> }
            : {
                label: 'State',
                cell: (c) => (
                  <RevokeCell
                    call={props.call}
                    cert={c}
                    done={(text) => {
                      setMessage({ ok: true, text });
                      certs.reload();
                    }}
                    failed={(text) => setMessage({ ok: false, text })}
                  />
                ),
              },
        ]}
      />
    </Section>
  );
}

function App() {
  const tab = useHashTab(TABS.map((t) => t.id));
  return (
    <Layout party="Certification authority" title="CA console" current={tab} nav={TABS}>
      <OperatorLogin party="CA" check="/v1/admin/registrations?limit=1">
        {(call, logout) => (
          <>
            <div class="row">
              <span class="spacer" />
              <button type="button" onClick={logout}>
                Log out
              </button>
            </div>
            {tab === 'registrations' && <Registrations call={call} />}
            {tab === 'certificates' && <Certificates call={call} revokedOnly={false} />}
            {tab === 'revocations' && <Certificates call={call} revokedOnly={true} />}
          </>
        )}
      </OperatorLogin>
    </Layout>
  );
}

render(<App />, document.getElementById('app')!);
