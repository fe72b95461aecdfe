// Stays whole: drizzle-kit diffs this one file into migrations, and the tables refer to each other.
import type {
  AccessFeature,
  AccessState,
  AppConsentState,
  FeatureAccess,
  RelationshipAccess,
} from '../domain/access.js';
import type {
  ApplyMode,
  CountBasis,
  EffectiveDatePolicy,
  ProrationPolicy,
  SyncAction,
  SyncChangeStatus,
} from '../domain/billing.js';
import type { AlertEventName, AlertSeverity } from '../domain/alert-events.js';
import type { CustomLicenseKind } from '../domain/custom-licenses.js';
import type { SeatField } from '../domain/seat-history.js';
import type { ChannelKind } from '../domain/webhook-messages.js';
import type { PsaKind } from '../psa/client.js';
import { sql } from 'drizzle-orm';
import {
  bigserial,
  boolean,
  check,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
  type AnyPgColumn,
} from 'drizzle-orm/pg-core';

// Status columns are text with a TypeScript union rather than PostgreSQL enums: adding a
// state later is then a code change, not a migration that locks the table.

const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();
const updatedAt = () => timestamp('updated_at', { withTimezone: true }).notNull().defaultNow();
const id = () =>
  uuid('id')
    .primaryKey()
    .default(sql`gen_random_uuid()`);

/** A CSP partner: one Partner Center account (one partner tenant). */
export const partners = pgTable(
  'partners',
  {
    id: id(),
    name: text('name').notNull(),
    /** The partner's own Entra tenant, known once a consent names it. */
    homeTenantId: uuid('home_tenant_id'),
    /** Whether free and trial SKUs' seats count in the partner's billed totals. Default: false */
    includeFreeSkusInTotals: boolean('include_free_skus_in_totals').notNull().default(false),
    /**
     * The pace of the partner's Partner Center requests, per second, when it is not the
     * service's (PARTNER_CENTER_REQUESTS_PER_SECOND). Default: null
     */
    partnerCenterRequestsPerSecond: doublePrecision('partner_center_requests_per_second'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  // One Microsoft tenant belongs to one partner: a consent from it can bind no other partner.
  (t) => [
    uniqueIndex('partners_home_tenant_uq')
      .on(t.homeTenantId)
      .where(sql`${t.homeTenantId} is not null`),
    check('partners_partner_center_pace_positive', sql`${t.partnerCenterRequestsPerSecond} > 0`),
  ],
);

/**
 * legacy: a username/password account; sam: a Partner Center consent (Secure Application
 * Model); custom_license: the second consent, for Microsoft Graph, that custom-license counts
 * run as (its own refresh token, its own cache partition).
 */
export type DelegatedAdminKind = 'legacy' | 'sam' | 'custom_license';
/** The last validation of a custom-license token ("expiring" is derived from lastUsedAt). */
export type CustomLicenseTokenValidation = 'valid' | 'invalid';
/** pending: a consent being verified (MFA, Admin Agent); it never serves companies. */
export type DelegatedAdminStatus =
  'pending' | 'active' | 'replaced' | 'needs_reconsent' | 'revoked';

/**
 * The accounts a partner's refreshes run as: legacy username/password accounts and
 * Secure Application Model consents. A replaced legacy account points at its successor.
 */
export const delegatedAdmins = pgTable(
  'delegated_admins',
  {
    id: id(),
    partnerId: uuid('partner_id')
      .notNull()
      .references(() => partners.id, { onDelete: 'cascade' }),
    kind: text('kind').$type<DelegatedAdminKind>().notNull(),
    /** UPN of the account (legacy username or the consenting user). */
    username: text('username').notNull(),
    /** Lower-cased domain part of the username, '' when it has none (replacement: `sameDomain`). */
    domain: text('domain').notNull(),
    /** Legacy accounts only: the password, sealed by the key ring. */
    passwordEnc: text('password_enc'),
    status: text('status').$type<DelegatedAdminStatus>().notNull().default('active'),
    replacedBy: uuid('replaced_by').references((): AnyPgColumn => delegatedAdmins.id),
    replacedAt: timestamp('replaced_at', { withTimezone: true }),
    /** SAM only: the Entra object id and tenant of the consenting user. */
    userObjectId: uuid('user_object_id'),
    tenantId: uuid('tenant_id'),
    mfaVerified: boolean('mfa_verified'),
    adminAgent: boolean('admin_agent'),
    consentedAt: timestamp('consented_at', { withTimezone: true }),
    lastError: text('last_error'),
    nextAction: text('next_action'),
    /** Custom-license tokens: the Graph permissions the token carries. */
    grantedScopes: jsonb('granted_scopes').$type<string[]>(),
    validation: text('validation').$type<CustomLicenseTokenValidation>(),
    /** Why the last validation failed, as a sentence for the partner. */
    validationReason: text('validation_reason'),
    lastValidatedAt: timestamp('last_validated_at', { withTimezone: true }),
    /** The last time the refresh token was redeemed: its 90-day inactivity clock restarts. */
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
    /** SAM only: when the domain-matched replacement ran for this consent. */
    replacementCheckedAt: timestamp('replacement_checked_at', { withTimezone: true }),
    createdBy: text('created_by').notNull(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('delegated_admins_partner_domain_idx').on(t.partnerId, t.domain)],
);

export type CompanyVisibility = 'unknown' | 'visible' | 'not_visible';

/** A customer of the partner: one customer tenant, billed for its licenses. */
export const companies = pgTable(
  'companies',
  {
    id: id(),
    partnerId: uuid('partner_id')
      .notNull()
      .references(() => partners.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    customerTenantId: uuid('customer_tenant_id'),
    domain: text('domain'),
    delegatedAdminId: uuid('delegated_admin_id').references(() => delegatedAdmins.id),
    /** Whether the last customer listing showed this company. */
    visibility: text('visibility').$type<CompanyVisibility>().notNull().default('unknown'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('companies_partner_tenant_uq').on(t.partnerId, t.customerTenantId),
    index('companies_delegated_admin_idx').on(t.delegatedAdminId),
  ],
);

export type ConsentAttemptKind = 'partner_center' | 'custom_license';
export type ConsentAttemptStatus =
  'started' | 'received' | 'exchanging' | 'completed' | 'failed' | 'expired';

/** One click on "Grant consent": state, PKCE verifier and nonce kept server-side. */
export const consentAttempts = pgTable(
  'consent_attempts',
  {
    id: id(),
    partnerId: uuid('partner_id')
      .notNull()
      .references(() => partners.id, { onDelete: 'cascade' }),
    kind: text('kind').$type<ConsentAttemptKind>().notNull(),
    /** SHA-256 of the state parameter; the state itself is never stored. */
    stateHash: text('state_hash').notNull(),
    /** Sealed until the code is exchanged, then wiped. */
    pkceVerifierEnc: text('pkce_verifier_enc'),
    nonceEnc: text('nonce_enc'),
    /** The authorization code, sealed, once the callback has received it. */
    codeEnc: text('code_enc'),
    /** SHA-256 of the code, to recognise a replayed callback without opening codeEnc. */
    codeHash: text('code_hash'),
    returnUrl: text('return_url').notNull(),
    status: text('status').$type<ConsentAttemptStatus>().notNull().default('started'),
    /** A sentence for the partner when the attempt failed. */
    error: text('error'),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    receivedAt: timestamp('received_at', { withTimezone: true }),
    completedAt: timestamp('completed_at', { withTimezone: true }),
    delegatedAdminId: uuid('delegated_admin_id').references(() => delegatedAdmins.id),
    /**
     * SHA-256 of the session that started the attempt from the pages; its callback must come
     * back in that session. Null: started through the API, not bound to a browser.
     */
    sessionHash: text('session_hash'),
    /** The tenant the admin was sent to sign in at (the partner's); null: organizations. */
    authorityTenantId: uuid('authority_tenant_id'),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('consent_attempts_state_uq').on(t.stateHash),
    index('consent_attempts_status_idx').on(t.status),
  ],
);

export type TokenCachePurpose = 'partner_center' | 'custom_license';

/** MSAL's serialized token cache, sealed: one partition per consent (delegated admin). */
export const tokenCachePartitions = pgTable(
  'token_cache_partitions',
  {
    id: id(),
    partnerId: uuid('partner_id')
      .notNull()
      .references(() => partners.id, { onDelete: 'cascade' }),
    delegatedAdminId: uuid('delegated_admin_id')
      .notNull()
      .references(() => delegatedAdmins.id, { onDelete: 'cascade' }),
    purpose: text('purpose').$type<TokenCachePurpose>().notNull(),
    cacheEnc: text('cache_enc').notNull(),
    /** Bumped on every write; a writer holding an older version lost a race. */
    version: integer('version').notNull().default(1),
    homeAccountId: text('home_account_id'),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('token_cache_partitions_admin_purpose_uq').on(t.delegatedAdminId, t.purpose),
    index('token_cache_partitions_partner_idx').on(t.partnerId),
  ],
);

export type RefreshRunTrigger = 'consent' | 'manual' | 'schedule';
export type RefreshRunStatus = 'running' | 'completed' | 'stopped';

/** One refresh of every customer of a partner. Counts are kept in step with its results. */
export const refreshRuns = pgTable(
  'refresh_runs',
  {
    id: id(),
    partnerId: uuid('partner_id')
      .notNull()
      .references(() => partners.id, { onDelete: 'cascade' }),
    trigger: text('trigger').$type<RefreshRunTrigger>().notNull(),
    status: text('status').$type<RefreshRunStatus>().notNull().default('running'),
    total: integer('total').notNull().default(0),
    succeeded: integer('succeeded').notNull().default(0),
    failed: integer('failed').notNull().default(0),
    /** Customers the partner cannot reach (GDAP or the app's consent): not failures to retry. */
    noAccess: integer('no_access').notNull().default(0),
    /** Why the run stopped early, in a sentence for the partner. */
    error: text('error'),
    /** Partner Center customers the listing found with no company here yet. */
    notYetAdded: jsonb('not_yet_added')
      .$type<{ customerTenantId: string; domain: string; name: string }[]>()
      .notNull()
      .default([]),
    startedAt: timestamp('started_at', { withTimezone: true }).notNull().defaultNow(),
    /**
     * When the run was last opened: its start, or the retry of its failed customers that
     * reopened it. How long it has been running is counted from here.
     */
    openedAt: timestamp('opened_at', { withTimezone: true }).notNull().defaultNow(),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
    /** When the partner's PSA reconciliation after this run was queued; null: not yet. */
    billingQueuedAt: timestamp('billing_queued_at', { withTimezone: true }),
  },
  (t) => [
    index('refresh_runs_partner_started_idx').on(t.partnerId, t.startedAt),
    // At most one open run per partner: "sync now" during a run joins it.
    uniqueIndex('refresh_runs_one_open_uq')
      .on(t.partnerId)
      .where(sql`${t.status} = 'running'`),
  ],
);

/** no_access: the partner cannot reach the customer (GDAP, app consent); fixed there, not retried. */
export type RefreshResultStatus = 'pending' | 'succeeded' | 'failed' | 'no_access';
export type ErrorClassification = 'transient' | 'permanent' | 'needs_reconsent' | 'no_access';

/** One customer tenant within a refresh run. */
export const refreshResults = pgTable(
  'refresh_results',
  {
    id: id(),
    runId: uuid('run_id')
      .notNull()
      .references(() => refreshRuns.id, { onDelete: 'cascade' }),
    companyId: uuid('company_id').references(() => companies.id, { onDelete: 'set null' }),
    customerTenantId: uuid('customer_tenant_id').notNull(),
    status: text('status').$type<RefreshResultStatus>().notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    classification: text('classification').$type<ErrorClassification>(),
    errorCode: text('error_code'),
    errorMessage: text('error_message'),
    startedAt: timestamp('started_at', { withTimezone: true }),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
    /** The job execution that is asking Microsoft for this customer, while `claimedUntil`. */
    claim: uuid('claim'),
    claimedUntil: timestamp('claimed_until', { withTimezone: true }),
  },
  (t) => [
    uniqueIndex('refresh_results_run_tenant_uq').on(t.runId, t.customerTenantId),
    index('refresh_results_run_status_idx').on(t.runId, t.status),
  ],
);

/**
 * A customer's license counts per SKU as the partner's latest successful refresh read them,
 * kept in place: a refresh writes a row only when a value changed and deletes the SKUs that
 * are gone, so the table holds the present, not a row per run (`seat_history` is the record
 * of changes). `changedRunId` has no foreign key: pruning runs leaves the state whole.
 */
export const customerLicenses = pgTable(
  'customer_licenses',
  {
    partnerId: uuid('partner_id')
      .notNull()
      .references(() => partners.id, { onDelete: 'cascade' }),
    customerTenantId: uuid('customer_tenant_id').notNull(),
    skuId: uuid('sku_id').notNull(),
    companyId: uuid('company_id').references(() => companies.id, { onDelete: 'set null' }),
    skuPartNumber: text('sku_part_number').notNull(),
    activeUnits: integer('active_units').notNull(),
    consumedUnits: integer('consumed_units').notNull(),
    suspendedUnits: integer('suspended_units').notNull().default(0),
    warningUnits: integer('warning_units').notNull().default(0),
    /** Sum of active subscriptions of this SKU, across monthly and yearly terms. */
    billedQuantity: integer('billed_quantity').notNull(),
    /** The run whose reading last changed the row, and when. */
    changedRunId: uuid('changed_run_id').notNull(),
    changedAt: timestamp('changed_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.partnerId, t.customerTenantId, t.skuId] }),
    index('customer_licenses_company_idx').on(t.companyId),
  ],
);

/**
 * The latest successful refresh of each customer tenant of a partner: the run that last
 * confirmed its `customer_licenses` rows (changed or not), and when. One row per customer,
 * overwritten each run. `runId` has no foreign key, as above.
 */
export const customerLicenseReads = pgTable(
  'customer_license_reads',
  {
    partnerId: uuid('partner_id')
      .notNull()
      .references(() => partners.id, { onDelete: 'cascade' }),
    customerTenantId: uuid('customer_tenant_id').notNull(),
    companyId: uuid('company_id').references(() => companies.id, { onDelete: 'set null' }),
    runId: uuid('run_id').notNull(),
    readAt: timestamp('read_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.partnerId, t.customerTenantId] }),
    index('customer_license_reads_company_idx').on(t.companyId),
  ],
);

/**
 * A customer's Partner Center subscriptions as the last successful refresh listed them, with
 * their terms (renewals and cancellation windows are read from here). `skuId` is the Entra SKU
 * the subscription provisions: it never changes, so it is asked of Partner Center once.
 */
export const customerSubscriptions = pgTable(
  'customer_subscriptions',
  {
    partnerId: uuid('partner_id')
      .notNull()
      .references(() => partners.id, { onDelete: 'cascade' }),
    customerTenantId: uuid('customer_tenant_id').notNull(),
    subscriptionId: text('subscription_id').notNull(),
    offerId: text('offer_id').notNull(),
    offerName: text('offer_name'),
    /** null until resolved (a deleted subscription is never asked for). */
    skuId: uuid('sku_id'),
    quantity: integer('quantity').notNull(),
    /** Partner Center's status: active, suspended, disabled, expired, deleted, pending, none. */
    status: text('status').notNull(),
    /** ISO 8601: P1M, P1Y, P3Y. */
    termDuration: text('term_duration'),
    /** monthly, annual, triennial... */
    billingCycle: text('billing_cycle'),
    commitmentEndDate: timestamp('commitment_end_date', { withTimezone: true }),
    /** New commerce: the end of the window in which the subscription may still be cancelled. */
    cancellationAllowedUntilDate: timestamp('cancellation_allowed_until_date', {
      withTimezone: true,
    }),
    autoRenewEnabled: boolean('auto_renew_enabled'),
    /** productType.id, e.g. OnlineServicesNCE; null for legacy offers. */
    productType: text('product_type'),
    isTrial: boolean('is_trial').notNull().default(false),
    /** The run that last changed it (a listing that changes nothing writes nothing). */
    runId: uuid('run_id').references(() => refreshRuns.id, { onDelete: 'set null' }),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('customer_subscriptions_partner_tenant_sub_uq').on(
      t.partnerId,
      t.customerTenantId,
      t.subscriptionId,
    ),
    // The reconciler's pass over cancellation windows closing soon, across every partner.
    index('customer_subscriptions_open_window_idx')
      .on(t.cancellationAllowedUntilDate)
      .where(sql`${t.status} = 'active'`),
    // Deleting an expired run sets its subscriptions' run to null: found here, not by a scan.
    index('customer_subscriptions_run_idx').on(t.runId),
  ],
);

/** A billing item counted in each customer tenant through Microsoft Graph. */
export const customLicenseDefinitions = pgTable(
  'custom_license_definitions',
  {
    id: id(),
    partnerId: uuid('partner_id')
      .notNull()
      .references(() => partners.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    kind: text('kind').$type<CustomLicenseKind>().notNull(),
    /** Kind-specific parameters (domains, group, SKU part number, quantity). */
    params: jsonb('params').$type<Record<string, unknown>>().notNull().default({}),
    /** null: every company; otherwise the chosen company ids. */
    companyIds: jsonb('company_ids').$type<string[] | null>(),
    deletedAt: timestamp('deleted_at', { withTimezone: true }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('custom_license_definitions_partner_idx').on(t.partnerId)],
);

export type CustomLicenseCountState = 'counted' | 'failed' | 'will_fail';

/**
 * One count of one definition for one company in one run; the rows are the history. A pruned
 * run leaves its counts (the latest may be older than the runs kept) with no run.
 */
export const customLicenseCounts = pgTable(
  'custom_license_counts',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    runId: uuid('run_id').references(() => refreshRuns.id, { onDelete: 'set null' }),
    companyId: uuid('company_id')
      .notNull()
      .references(() => companies.id, { onDelete: 'cascade' }),
    definitionId: uuid('definition_id')
      .notNull()
      .references(() => customLicenseDefinitions.id, { onDelete: 'cascade' }),
    state: text('state').$type<CustomLicenseCountState>().notNull(),
    quantity: integer('quantity'),
    message: text('message'),
    countedAt: timestamp('counted_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('custom_license_counts_run_company_def_uq').on(
      t.runId,
      t.companyId,
      t.definitionId,
    ),
  ],
);

/** Who did what, for the partner's and operators' record. Never holds a secret. */
export const auditEvents = pgTable(
  'audit_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    partnerId: uuid('partner_id').references(() => partners.id, { onDelete: 'cascade' }),
    actor: text('actor').notNull(),
    action: text('action').notNull(),
    subjectType: text('subject_type'),
    subjectId: text('subject_id'),
    details: jsonb('details').$type<Record<string, unknown>>().notNull().default({}),
    createdAt: createdAt(),
  },
  (t) => [index('audit_events_partner_created_idx').on(t.partnerId, t.createdAt)],
);

export type UserRole = 'operator' | 'partner';

/** People who log in to the pages: operators, and partner users (each of one partner). */
export const users = pgTable(
  'users',
  {
    id: id(),
    /** Lower-cased. */
    email: text('email').notNull(),
    /** scrypt, with its parameters and salt (src/server/auth/passwords.ts). */
    passwordHash: text('password_hash').notNull(),
    role: text('role').$type<UserRole>().notNull(),
    /** Partner users only. */
    partnerId: uuid('partner_id').references(() => partners.id, { onDelete: 'cascade' }),
    lastLoginAt: timestamp('last_login_at', { withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('users_email_uq').on(t.email)],
);

/** Login sessions of the pages; the id is stored hashed, so a read of this table logs no one in. */
export const sessions = pgTable(
  'sessions',
  {
    idHash: text('id_hash').primaryKey(),
    data: jsonb('data').$type<Record<string, unknown>>().notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  },
  (t) => [index('sessions_expires_idx').on(t.expiresAt)],
);

/**
 * A partner's GDAP access to one customer tenant, as last read from its delegated admin
 * relationships (roles the consenting account holds through its groups) and the app's consent
 * there (known from the last sign-in to the customer tenant).
 */
export const customerAccess = pgTable(
  'customer_access',
  {
    partnerId: uuid('partner_id')
      .notNull()
      .references(() => partners.id, { onDelete: 'cascade' }),
    customerTenantId: uuid('customer_tenant_id').notNull(),
    /** As Partner Center or the relationships name the customer. */
    customerName: text('customer_name'),
    state: text('state').$type<AccessState>().notNull(),
    relationships: jsonb('relationships').$type<RelationshipAccess[]>().notNull().default([]),
    features: jsonb('features').$type<Record<AccessFeature, FeatureAccess>>().notNull(),
    /** What to do, when the state is not ok. */
    reason: text('reason'),
    appConsent: text('app_consent').$type<AppConsentState>().notNull().default('unknown'),
    appConsentCheckedAt: timestamp('app_consent_checked_at', { withTimezone: true }),
    /** When the relationships were last read; null while only the app's consent is known. */
    checkedAt: timestamp('checked_at', { withTimezone: true }),
  },
  (t) => [uniqueIndex('customer_access_partner_tenant_uq').on(t.partnerId, t.customerTenantId)],
);

export type AccessActionKind = 'app_consent' | 'auto_extend';
/** done: Microsoft made the change; refused: Microsoft (or its rules) refused it; failed: an error. */
export type AccessActionOutcome = 'done' | 'refused' | 'failed';

/** Each fix of GDAP access asked of Microsoft: who, what, where, and how it ended. */
export const accessActions = pgTable(
  'access_actions',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    partnerId: uuid('partner_id')
      .notNull()
      .references(() => partners.id, { onDelete: 'cascade' }),
    actor: text('actor').notNull(),
    action: text('action').$type<AccessActionKind>().notNull(),
    customerTenantId: uuid('customer_tenant_id').notNull(),
    relationshipId: text('relationship_id'),
    outcome: text('outcome').$type<AccessActionOutcome>().notNull(),
    /** The sentence for a refusal or failure. */
    message: text('message'),
    createdAt: createdAt(),
  },
  (t) => [index('access_actions_partner_created_idx').on(t.partnerId, t.createdAt)],
);

/** untested: saved, never checked; ok: the last call worked; broken: credentials refused. */
export type PsaConnectionStatus = 'untested' | 'ok' | 'broken';

/** The partner's PSA (ConnectWise PSA, Autotask or HaloPSA), where its invoices are made. */
export const psaConnections = pgTable(
  'psa_connections',
  {
    id: id(),
    partnerId: uuid('partner_id')
      .notNull()
      .references(() => partners.id, { onDelete: 'cascade' }),
    kind: text('kind').$type<PsaKind>().notNull(),
    /** Non-secret settings (site, company id, user name, tenant), per PSA. */
    settings: jsonb('settings').$type<Record<string, unknown>>().notNull(),
    /** The secrets (keys, secret, client secret) as one JSON document, sealed by the key ring. */
    credentialsEnc: text('credentials_enc').notNull(),
    /** When planned changes take effect in the PSA. */
    effectiveDatePolicy: text('effective_date_policy')
      .$type<EffectiveDatePolicy>()
      .notNull()
      .default('today'),
    /** Whether changes inside a billing period are prorated (src/domain/billing.ts). */
    proration: text('proration').$type<ProrationPolicy>().notNull().default('prorate'),
    status: text('status').$type<PsaConnectionStatus>().notNull().default('untested'),
    /** The last failure, as the PSA worded it. */
    lastError: text('last_error'),
    lastTestedAt: timestamp('last_tested_at', { withTimezone: true }),
    createdBy: text('created_by').notNull(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex('psa_connections_partner_uq').on(t.partnerId)],
);

/** A company here ↔ its company in the PSA, confirmed by a person, and where it is billed. */
export const psaCompanyLinks = pgTable(
  'psa_company_links',
  {
    companyId: uuid('company_id')
      .primaryKey()
      .references(() => companies.id, { onDelete: 'cascade' }),
    partnerId: uuid('partner_id')
      .notNull()
      .references(() => partners.id, { onDelete: 'cascade' }),
    psaCompanyId: text('psa_company_id').notNull(),
    psaCompanyName: text('psa_company_name').notNull(),
    /** The agreement / contract / recurring invoice its lines are on; null until chosen. */
    containerId: text('container_id'),
    containerName: text('container_name'),
    confirmedBy: text('confirmed_by').notNull(),
    confirmedAt: timestamp('confirmed_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('psa_company_links_partner_idx').on(t.partnerId)],
);

/** A Microsoft product (or custom license) and the PSA product it is billed as. */
export const psaProductMappings = pgTable(
  'psa_product_mappings',
  {
    id: id(),
    partnerId: uuid('partner_id')
      .notNull()
      .references(() => partners.id, { onDelete: 'cascade' }),
    /** sku:<skuId>, sku:<skuId>:<term> or custom:<definitionId> (src/domain/billing.ts). */
    sourceKey: text('source_key').notNull(),
    psaProductId: text('psa_product_id').notNull(),
    psaProductName: text('psa_product_name').notNull(),
    countBasis: text('count_basis').$type<CountBasis>().notNull(),
    applyMode: text('apply_mode').$type<ApplyMode>().notNull().default('approval'),
    createdBy: text('created_by').notNull(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex('psa_product_mappings_partner_source_uq').on(t.partnerId, t.sourceKey)],
);

/**
 * Per company and product: Microsoft's counts beside what the PSA bills, as of the last
 * reconciliation, and since when they differ.
 */
export const reconciliationRows = pgTable(
  'reconciliation_rows',
  {
    companyId: uuid('company_id')
      .notNull()
      .references(() => companies.id, { onDelete: 'cascade' }),
    sourceKey: text('source_key').notNull(),
    partnerId: uuid('partner_id')
      .notNull()
      .references(() => partners.id, { onDelete: 'cascade' }),
    mappingId: uuid('mapping_id').references(() => psaProductMappings.id, {
      onDelete: 'set null',
    }),
    productName: text('product_name').notNull(),
    skuId: uuid('sku_id'),
    skuPartNumber: text('sku_part_number'),
    microsoftPurchased: integer('microsoft_purchased'),
    microsoftAssigned: integer('microsoft_assigned'),
    customCount: integer('custom_count'),
    psaBilled: integer('psa_billed'),
    psaLineId: text('psa_line_id'),
    /** The count the mapping bills minus what the PSA bills; null when either is unknown. */
    difference: integer('difference'),
    differenceSince: timestamp('difference_since', { withTimezone: true }),
    checkedAt: timestamp('checked_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('reconciliation_rows_company_source_uq').on(t.companyId, t.sourceKey),
    index('reconciliation_rows_partner_idx').on(t.partnerId),
  ],
);

/** A change the sync would write (the plan), through approval to its end. */
export const psaSyncChanges = pgTable(
  'psa_sync_changes',
  {
    id: id(),
    partnerId: uuid('partner_id')
      .notNull()
      .references(() => partners.id, { onDelete: 'cascade' }),
    companyId: uuid('company_id')
      .notNull()
      .references(() => companies.id, { onDelete: 'cascade' }),
    sourceKey: text('source_key').notNull(),
    productName: text('product_name').notNull(),
    action: text('action').$type<SyncAction>().notNull(),
    containerId: text('container_id').notNull(),
    psaProductId: text('psa_product_id').notNull(),
    psaLineId: text('psa_line_id'),
    /** What the PSA billed when the plan was made. */
    before: integer('before').notNull(),
    target: integer('target').notNull(),
    /** YYYY-MM-DD */
    effectiveDate: text('effective_date').notNull(),
    /** The connection's proration when the change was planned: what the write asks for. */
    proration: text('proration').$type<ProrationPolicy>().notNull().default('prorate'),
    status: text('status').$type<SyncChangeStatus>().notNull(),
    approvedBy: text('approved_by'),
    approvedAt: timestamp('approved_at', { withTimezone: true }),
    error: text('error'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index('psa_sync_changes_partner_status_idx').on(t.partnerId, t.status),
    // One open change per company and product: a new plan replaces a planned one.
    uniqueIndex('psa_sync_changes_open_uq')
      .on(t.companyId, t.sourceKey)
      .where(sql`${t.status} in ('planned', 'approved', 'applying')`),
  ],
);

/** Every write made to a PSA, never rewritten: what it was, what it became, who approved. */
export const psaSyncLedger = pgTable(
  'psa_sync_ledger',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    partnerId: uuid('partner_id')
      .notNull()
      .references(() => partners.id, { onDelete: 'cascade' }),
    companyId: uuid('company_id').references(() => companies.id, { onDelete: 'set null' }),
    changeId: uuid('change_id').notNull(),
    psaKind: text('psa_kind').$type<PsaKind>().notNull(),
    productName: text('product_name').notNull(),
    action: text('action').$type<SyncAction>().notNull(),
    containerId: text('container_id').notNull(),
    psaLineId: text('psa_line_id').notNull(),
    before: integer('before').notNull(),
    after: integer('after').notNull(),
    effectiveDate: text('effective_date').notNull(),
    /** The proration the write asked for; null for writes made before it was recorded. */
    proration: text('proration').$type<ProrationPolicy>(),
    /** The PSA's id for the write (addition, adjustment, line). */
    psaResponseId: text('psa_response_id').notNull(),
    /** The PSA already billed the target when the write was retried: nothing was sent. */
    alreadyApplied: boolean('already_applied').notNull(),
    approvedBy: text('approved_by').notNull(),
    appliedAt: timestamp('applied_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('psa_sync_ledger_company_idx').on(t.companyId, t.appliedAt),
    uniqueIndex('psa_sync_ledger_change_uq').on(t.changeId),
  ],
);

/**
 * Every change of a company's seat counts, one row per product and field, never rewritten (a
 * trigger refuses UPDATE, and DELETE unless the company is gone: deleting a company or its
 * partner takes its history with it). `run_id` has no foreign key so pruning runs leaves the
 * history whole; it is null for PSA counts, which a reconciliation reads outside any run.
 */
export const seatHistory = pgTable(
  'seat_history',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    companyId: uuid('company_id')
      .notNull()
      .references(() => companies.id, { onDelete: 'cascade' }),
    runId: uuid('run_id'),
    /** A SKU id for Microsoft's fields, a reconciliation source key for `psaBilled`. */
    productKey: text('product_key').notNull(),
    skuId: uuid('sku_id'),
    productName: text('product_name').notNull(),
    field: text('field').$type<SeatField>().notNull(),
    fromValue: integer('from_value').notNull(),
    toValue: integer('to_value').notNull(),
    /** The company's first reading: its values as found, not purchases. */
    initial: boolean('initial').notNull().default(false),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('seat_history_company_at_idx').on(t.companyId, t.at),
    // The last value per product and field, which the next reading is compared with.
    index('seat_history_company_product_idx').on(t.companyId, t.productKey, t.field, t.id),
  ],
);

/**
 * Where a partner's alerts go (partnerId null: an operators' channel that receives every
 * partner's). The URL is sealed: a Slack or Teams incoming-webhook URL is itself the credential.
 */
export const notificationChannels = pgTable(
  'notification_channels',
  {
    id: id(),
    partnerId: uuid('partner_id').references(() => partners.id, { onDelete: 'cascade' }),
    kind: text('kind').$type<ChannelKind>().notNull(),
    /** The URL, sealed by the key ring; an email channel's is `mailto:` and its addresses. */
    urlEnc: text('url_enc').notNull(),
    /** What people see of the URL: its host, or an email channel's addresses. */
    urlHost: text('url_host').notNull(),
    /** Generic webhooks only: the HMAC signing secret, sealed. */
    signingSecretEnc: text('signing_secret_enc'),
    /** The events sent here; null: all of them. */
    events: jsonb('events').$type<AlertEventName[]>(),
    /** Whether a "resolved" message follows a raised one. Default: true */
    notifyResolved: boolean('notify_resolved').notNull().default(true),
    /** Collect non-critical alerts into a daily digest. Default: false */
    digest: boolean('digest').notNull().default(false),
    /** Set when the receiver refused a message for good (4xx): nothing is sent until cleared. */
    brokenAt: timestamp('broken_at', { withTimezone: true }),
    brokenReason: text('broken_reason'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('notification_channels_partner_idx').on(t.partnerId)],
);

/** A condition that needs a person, from raised to resolved. */
export const alerts = pgTable(
  'alerts',
  {
    id: id(),
    partnerId: uuid('partner_id')
      .notNull()
      .references(() => partners.id, { onDelete: 'cascade' }),
    event: text('event').$type<AlertEventName>().notNull(),
    /** The event's deduplication key (src/domain/alert-events.ts). */
    key: text('key').notNull(),
    severity: text('severity').$type<AlertSeverity>().notNull(),
    /** The event's details: counts, dates and sentences, never a secret. */
    details: jsonb('details').$type<Record<string, unknown>>().notNull(),
    raisedAt: timestamp('raised_at', { withTimezone: true }).notNull().defaultNow(),
    resolvedAt: timestamp('resolved_at', { withTimezone: true }),
  },
  (t) => [
    // One open alert per condition: raising it again while open adds nothing.
    uniqueIndex('alerts_open_key_uq')
      .on(t.partnerId, t.key)
      .where(sql`${t.resolvedAt} is null`),
    index('alerts_partner_raised_idx').on(t.partnerId, t.raisedAt),
  ],
);

/** pending: to send (its job queued, or re-queued by the reconciler); sent; failed: gave up. */
export type AlertDeliveryStatus = 'pending' | 'sent' | 'failed';

/**
 * The outbox: one message of an alert to one channel, written in the transaction that raised
 * or resolved the alert, so no crash or Redis loss can drop it.
 */
export const alertDeliveries = pgTable(
  'alert_deliveries',
  {
    id: id(),
    alertId: uuid('alert_id')
      .notNull()
      .references(() => alerts.id, { onDelete: 'cascade' }),
    channelId: uuid('channel_id')
      .notNull()
      .references(() => notificationChannels.id, { onDelete: 'cascade' }),
    kind: text('kind').$type<'raised' | 'resolved'>().notNull(),
    status: text('status').$type<AlertDeliveryStatus>().notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
    queuedAt: timestamp('queued_at', { withTimezone: true }).notNull().defaultNow(),
    lastAttemptAt: timestamp('last_attempt_at', { withTimezone: true }),
    sentAt: timestamp('sent_at', { withTimezone: true }),
  },
  (t) => [
    // Idempotent: a message of an alert goes to a channel once.
    uniqueIndex('alert_deliveries_alert_channel_kind_uq').on(t.alertId, t.channelId, t.kind),
    index('alert_deliveries_pending_idx')
      .on(t.queuedAt)
      .where(sql`${t.status} = 'pending'`),
  ],
);
