/* eslint-disable */
import * as types from './graphql';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  query Me {\n    me {\n      role\n      tenantId\n      tenantName\n    }\n    version\n  }\n": typeof types.MeDocument,
    "\n  query AuditLog($first: Int) {\n    auditLog(first: $first) {\n      nodes {\n        id\n        at\n        actor\n        action\n        arguments\n        result\n        traceId\n      }\n    }\n  }\n": typeof types.AuditLogDocument,
    "\n  subscription LiveThroughput($intervalMs: Int!) {\n    throughput(intervalMs: $intervalMs) {\n      at\n      ingestPerSecond\n      processedPerSecond\n      deadLetteredPerSecond\n    }\n  }\n": typeof types.LiveThroughputDocument,
    "\n  subscription TenantTick($filter: LiveEventFilter) {\n    events(filter: $filter) {\n      eventId\n      missedBefore\n    }\n  }\n": typeof types.TenantTickDocument,
    "\n  query TenantNames {\n    tenants {\n      id\n      name\n    }\n  }\n": typeof types.TenantNamesDocument,
    "\n  fragment DeadLetterFields on DeadLetter {\n    eventId\n    tenantId\n    tenantName\n    reason\n    errors {\n      path\n      message\n    }\n    body\n    bodyText\n    bodyStoredAsText\n    idempotencyKey\n    receivedAt\n    failedAt\n    attempts\n    status\n    sourceTopic\n    sourcePartition\n    sourceOffset\n    replayedAt\n    traceId\n    traceUrl\n  }\n": typeof types.DeadLetterFieldsFragmentDoc,
    "\n  query DeadLetters($filter: DeadLetterFilter, $first: Int, $after: String) {\n    deadLetters(filter: $filter, first: $first, after: $after) {\n      nodes {\n        ...DeadLetterFields\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": typeof types.DeadLettersDocument,
    "\n  query DeadLetterGroups($filter: DeadLetterFilter) {\n    deadLetterGroups(filter: $filter) {\n      reason\n      path\n      count\n      pending\n      firstSeen\n      lastSeen\n    }\n  }\n": typeof types.DeadLetterGroupsDocument,
    "\n  query DeadLetterMinutes($tenantId: UUID) {\n    stats(window: \"1h\", tenantId: $tenantId) {\n      series {\n        minute\n        deadLettered\n      }\n    }\n  }\n": typeof types.DeadLetterMinutesDocument,
    "\n  subscription NewDeadLetters($filter: LiveDeadLetterFilter) {\n    deadLetters(filter: $filter) {\n      eventId\n      missedBefore\n    }\n  }\n": typeof types.NewDeadLettersDocument,
    "\n  mutation ReplayDeadLetters($ids: [UUID!], $filter: DeadLetterFilter, $dryRun: Boolean!, $body: JSON) {\n    replayDeadLetters(ids: $ids, filter: $filter, dryRun: $dryRun, body: $body) {\n      dryRun\n      matched\n      replayed\n      eventIds\n      auditId\n    }\n  }\n": typeof types.ReplayDeadLettersDocument,
    "\n  mutation DiscardDeadLetters($ids: [UUID!], $filter: DeadLetterFilter, $dryRun: Boolean!) {\n    discardDeadLetters(ids: $ids, filter: $filter, dryRun: $dryRun) {\n      dryRun\n      matched\n      discarded\n      eventIds\n      auditId\n    }\n  }\n": typeof types.DiscardDeadLettersDocument,
    "\n  subscription LiveTail($filter: LiveEventFilter) {\n    events(filter: $filter) {\n      eventId\n      tenantId\n      tenantName\n      eventType\n      source\n      idempotencyKey\n      receivedAt\n      traceId\n      missedBefore\n      payload\n    }\n  }\n": typeof types.LiveTailDocument,
    "\n  query Overview($window: StatsWindow!, $tenantId: UUID) {\n    stats(window: $window, tenantId: $tenantId) {\n      window\n      from\n      to\n      received\n      stored\n      deadLettered\n      dlqRate\n      columns {\n        start\n        stepSeconds\n        received\n        stored\n        deadLettered\n      }\n      topEventTypes {\n        eventType\n        count\n      }\n    }\n  }\n": typeof types.OverviewDocument,
    "\n  query Health {\n    health {\n      status\n      components {\n        name\n        status\n        detail\n        latencyMs\n      }\n    }\n  }\n": typeof types.HealthDocument,
    "\n  query Pipeline($minutes: Int!) {\n    pipeline {\n      topic\n      group\n      totalLag\n      maxLagSeconds\n      partitions {\n        partition\n        endOffset\n        committedOffset\n        lag\n        lagSeconds\n      }\n      members {\n        memberId\n        clientId\n        host\n        partitions\n      }\n      rates {\n        at\n        ingestPerSecond\n        processedPerSecond\n        deadLetteredPerSecond\n      }\n      history(minutes: $minutes) {\n        at\n        totalLag\n        maxLagSeconds\n        ingestPerSecond\n        processedPerSecond\n        deadLetteredPerSecond\n      }\n    }\n  }\n": typeof types.PipelineDocument,
    "\n  subscription LiveLag {\n    consumerLag(intervalMs: 1000) {\n      at\n      totalLag\n      maxLagSeconds\n      partitions {\n        partition\n        endOffset\n        committedOffset\n        lag\n        lagSeconds\n      }\n    }\n  }\n": typeof types.LiveLagDocument,
    "\n  subscription PipelineRates {\n    throughput(intervalMs: 1000) {\n      at\n      ingestPerSecond\n      processedPerSecond\n      deadLetteredPerSecond\n    }\n  }\n": typeof types.PipelineRatesDocument,
    "\n  query SearchEvent($q: String!, $id: UUID!, $isId: Boolean!, $tenantId: UUID) {\n    event(eventId: $id, tenantId: $tenantId) @include(if: $isId) {\n      ...EventDetail\n    }\n    eventsByIdempotencyKey(key: $q, tenantId: $tenantId) {\n      ...EventDetail\n    }\n  }\n  fragment EventDetail on Event {\n    eventId\n    tenantId\n    tenantName\n    eventType\n    source\n    idempotencyKey\n    occurredAt\n    receivedAt\n    processedAt\n    payload\n    status\n    kafkaTopic\n    kafkaPartition\n    kafkaOffset\n    traceId\n    traceUrl\n    lifecycle {\n      stage\n      at\n      topic\n      partition\n      offset\n      detail\n    }\n    deadLetter {\n      reason\n      status\n      errors {\n        path\n        message\n      }\n      body\n      attempts\n    }\n    trace {\n      traceId\n      url\n      spans {\n        spanId\n        parentSpanId\n        service\n        name\n        kind\n        startMicros\n        durationMicros\n        error\n        attributes\n        events\n      }\n    }\n  }\n": typeof types.SearchEventDocument,
    "\n  query Tenants {\n    tenants {\n      id\n      name\n      apiKeyPrefix\n      rateLimitPerMinute\n      idempotencyTtlSeconds\n      disabled\n      disabledAt\n      createdAt\n      schemas {\n        tenantId\n        eventType\n        schema\n        updatedAt\n      }\n    }\n  }\n": typeof types.TenantsDocument,
    "\n  mutation CreateTenant($name: String!, $rateLimitPerMinute: Int, $idempotencyTtlSeconds: Int) {\n    createTenant(name: $name, rateLimitPerMinute: $rateLimitPerMinute, idempotencyTtlSeconds: $idempotencyTtlSeconds) {\n      apiKey\n      tenant {\n        id\n        name\n        apiKeyPrefix\n      }\n    }\n  }\n": typeof types.CreateTenantDocument,
    "\n  mutation RotateApiKey($tenantId: UUID!) {\n    rotateApiKey(tenantId: $tenantId) {\n      apiKey\n      tenant {\n        id\n        name\n        apiKeyPrefix\n      }\n    }\n  }\n": typeof types.RotateApiKeyDocument,
    "\n  mutation UpdateTenantLimits($tenantId: UUID!, $rateLimitPerMinute: Int, $idempotencyTtlSeconds: Int) {\n    updateTenantLimits(tenantId: $tenantId, rateLimitPerMinute: $rateLimitPerMinute, idempotencyTtlSeconds: $idempotencyTtlSeconds) {\n      id\n      rateLimitPerMinute\n      idempotencyTtlSeconds\n    }\n  }\n": typeof types.UpdateTenantLimitsDocument,
    "\n  mutation DisableTenant($tenantId: UUID!) {\n    disableTenant(tenantId: $tenantId) {\n      id\n      disabled\n      disabledAt\n    }\n  }\n": typeof types.DisableTenantDocument,
    "\n  mutation EnableTenant($tenantId: UUID!) {\n    enableTenant(tenantId: $tenantId) {\n      id\n      disabled\n      disabledAt\n    }\n  }\n": typeof types.EnableTenantDocument,
    "\n  mutation SetEventSchema($tenantId: UUID!, $eventType: String!, $schema: JSON!) {\n    setEventSchema(tenantId: $tenantId, eventType: $eventType, schema: $schema) {\n      tenantId\n      eventType\n      updatedAt\n    }\n  }\n": typeof types.SetEventSchemaDocument,
    "\n  mutation DeleteEventSchema($tenantId: UUID!, $eventType: String!) {\n    deleteEventSchema(tenantId: $tenantId, eventType: $eventType)\n  }\n": typeof types.DeleteEventSchemaDocument,
};
const documents: Documents = {
    "\n  query Me {\n    me {\n      role\n      tenantId\n      tenantName\n    }\n    version\n  }\n": types.MeDocument,
    "\n  query AuditLog($first: Int) {\n    auditLog(first: $first) {\n      nodes {\n        id\n        at\n        actor\n        action\n        arguments\n        result\n        traceId\n      }\n    }\n  }\n": types.AuditLogDocument,
    "\n  subscription LiveThroughput($intervalMs: Int!) {\n    throughput(intervalMs: $intervalMs) {\n      at\n      ingestPerSecond\n      processedPerSecond\n      deadLetteredPerSecond\n    }\n  }\n": types.LiveThroughputDocument,
    "\n  subscription TenantTick($filter: LiveEventFilter) {\n    events(filter: $filter) {\n      eventId\n      missedBefore\n    }\n  }\n": types.TenantTickDocument,
    "\n  query TenantNames {\n    tenants {\n      id\n      name\n    }\n  }\n": types.TenantNamesDocument,
    "\n  fragment DeadLetterFields on DeadLetter {\n    eventId\n    tenantId\n    tenantName\n    reason\n    errors {\n      path\n      message\n    }\n    body\n    bodyText\n    bodyStoredAsText\n    idempotencyKey\n    receivedAt\n    failedAt\n    attempts\n    status\n    sourceTopic\n    sourcePartition\n    sourceOffset\n    replayedAt\n    traceId\n    traceUrl\n  }\n": types.DeadLetterFieldsFragmentDoc,
    "\n  query DeadLetters($filter: DeadLetterFilter, $first: Int, $after: String) {\n    deadLetters(filter: $filter, first: $first, after: $after) {\n      nodes {\n        ...DeadLetterFields\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": types.DeadLettersDocument,
    "\n  query DeadLetterGroups($filter: DeadLetterFilter) {\n    deadLetterGroups(filter: $filter) {\n      reason\n      path\n      count\n      pending\n      firstSeen\n      lastSeen\n    }\n  }\n": types.DeadLetterGroupsDocument,
    "\n  query DeadLetterMinutes($tenantId: UUID) {\n    stats(window: \"1h\", tenantId: $tenantId) {\n      series {\n        minute\n        deadLettered\n      }\n    }\n  }\n": types.DeadLetterMinutesDocument,
    "\n  subscription NewDeadLetters($filter: LiveDeadLetterFilter) {\n    deadLetters(filter: $filter) {\n      eventId\n      missedBefore\n    }\n  }\n": types.NewDeadLettersDocument,
    "\n  mutation ReplayDeadLetters($ids: [UUID!], $filter: DeadLetterFilter, $dryRun: Boolean!, $body: JSON) {\n    replayDeadLetters(ids: $ids, filter: $filter, dryRun: $dryRun, body: $body) {\n      dryRun\n      matched\n      replayed\n      eventIds\n      auditId\n    }\n  }\n": types.ReplayDeadLettersDocument,
    "\n  mutation DiscardDeadLetters($ids: [UUID!], $filter: DeadLetterFilter, $dryRun: Boolean!) {\n    discardDeadLetters(ids: $ids, filter: $filter, dryRun: $dryRun) {\n      dryRun\n      matched\n      discarded\n      eventIds\n      auditId\n    }\n  }\n": types.DiscardDeadLettersDocument,
    "\n  subscription LiveTail($filter: LiveEventFilter) {\n    events(filter: $filter) {\n      eventId\n      tenantId\n      tenantName\n      eventType\n      source\n      idempotencyKey\n      receivedAt\n      traceId\n      missedBefore\n      payload\n    }\n  }\n": types.LiveTailDocument,
    "\n  query Overview($window: StatsWindow!, $tenantId: UUID) {\n    stats(window: $window, tenantId: $tenantId) {\n      window\n      from\n      to\n      received\n      stored\n      deadLettered\n      dlqRate\n      columns {\n        start\n        stepSeconds\n        received\n        stored\n        deadLettered\n      }\n      topEventTypes {\n        eventType\n        count\n      }\n    }\n  }\n": types.OverviewDocument,
    "\n  query Health {\n    health {\n      status\n      components {\n        name\n        status\n        detail\n        latencyMs\n      }\n    }\n  }\n": types.HealthDocument,
    "\n  query Pipeline($minutes: Int!) {\n    pipeline {\n      topic\n      group\n      totalLag\n      maxLagSeconds\n      partitions {\n        partition\n        endOffset\n        committedOffset\n        lag\n        lagSeconds\n      }\n      members {\n        memberId\n        clientId\n        host\n        partitions\n      }\n      rates {\n        at\n        ingestPerSecond\n        processedPerSecond\n        deadLetteredPerSecond\n      }\n      history(minutes: $minutes) {\n        at\n        totalLag\n        maxLagSeconds\n        ingestPerSecond\n        processedPerSecond\n        deadLetteredPerSecond\n      }\n    }\n  }\n": types.PipelineDocument,
    "\n  subscription LiveLag {\n    consumerLag(intervalMs: 1000) {\n      at\n      totalLag\n      maxLagSeconds\n      partitions {\n        partition\n        endOffset\n        committedOffset\n        lag\n        lagSeconds\n      }\n    }\n  }\n": types.LiveLagDocument,
    "\n  subscription PipelineRates {\n    throughput(intervalMs: 1000) {\n      at\n      ingestPerSecond\n      processedPerSecond\n      deadLetteredPerSecond\n    }\n  }\n": types.PipelineRatesDocument,
    "\n  query SearchEvent($q: String!, $id: UUID!, $isId: Boolean!, $tenantId: UUID) {\n    event(eventId: $id, tenantId: $tenantId) @include(if: $isId) {\n      ...EventDetail\n    }\n    eventsByIdempotencyKey(key: $q, tenantId: $tenantId) {\n      ...EventDetail\n    }\n  }\n  fragment EventDetail on Event {\n    eventId\n    tenantId\n    tenantName\n    eventType\n    source\n    idempotencyKey\n    occurredAt\n    receivedAt\n    processedAt\n    payload\n    status\n    kafkaTopic\n    kafkaPartition\n    kafkaOffset\n    traceId\n    traceUrl\n    lifecycle {\n      stage\n      at\n      topic\n      partition\n      offset\n      detail\n    }\n    deadLetter {\n      reason\n      status\n      errors {\n        path\n        message\n      }\n      body\n      attempts\n    }\n    trace {\n      traceId\n      url\n      spans {\n        spanId\n        parentSpanId\n        service\n        name\n        kind\n        startMicros\n        durationMicros\n        error\n        attributes\n        events\n      }\n    }\n  }\n": types.SearchEventDocument,
    "\n  query Tenants {\n    tenants {\n      id\n      name\n      apiKeyPrefix\n      rateLimitPerMinute\n      idempotencyTtlSeconds\n      disabled\n      disabledAt\n      createdAt\n      schemas {\n        tenantId\n        eventType\n        schema\n        updatedAt\n      }\n    }\n  }\n": types.TenantsDocument,
    "\n  mutation CreateTenant($name: String!, $rateLimitPerMinute: Int, $idempotencyTtlSeconds: Int) {\n    createTenant(name: $name, rateLimitPerMinute: $rateLimitPerMinute, idempotencyTtlSeconds: $idempotencyTtlSeconds) {\n      apiKey\n      tenant {\n        id\n        name\n        apiKeyPrefix\n      }\n    }\n  }\n": types.CreateTenantDocument,
    "\n  mutation RotateApiKey($tenantId: UUID!) {\n    rotateApiKey(tenantId: $tenantId) {\n      apiKey\n      tenant {\n        id\n        name\n        apiKeyPrefix\n      }\n    }\n  }\n": types.RotateApiKeyDocument,
    "\n  mutation UpdateTenantLimits($tenantId: UUID!, $rateLimitPerMinute: Int, $idempotencyTtlSeconds: Int) {\n    updateTenantLimits(tenantId: $tenantId, rateLimitPerMinute: $rateLimitPerMinute, idempotencyTtlSeconds: $idempotencyTtlSeconds) {\n      id\n      rateLimitPerMinute\n      idempotencyTtlSeconds\n    }\n  }\n": types.UpdateTenantLimitsDocument,
    "\n  mutation DisableTenant($tenantId: UUID!) {\n    disableTenant(tenantId: $tenantId) {\n      id\n      disabled\n      disabledAt\n    }\n  }\n": types.DisableTenantDocument,
    "\n  mutation EnableTenant($tenantId: UUID!) {\n    enableTenant(tenantId: $tenantId) {\n      id\n      disabled\n      disabledAt\n    }\n  }\n": types.EnableTenantDocument,
    "\n  mutation SetEventSchema($tenantId: UUID!, $eventType: String!, $schema: JSON!) {\n    setEventSchema(tenantId: $tenantId, eventType: $eventType, schema: $schema) {\n      tenantId\n      eventType\n      updatedAt\n    }\n  }\n": types.SetEventSchemaDocument,
    "\n  mutation DeleteEventSchema($tenantId: UUID!, $eventType: String!) {\n    deleteEventSchema(tenantId: $tenantId, eventType: $eventType)\n  }\n": types.DeleteEventSchemaDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Me {\n    me {\n      role\n      tenantId\n      tenantName\n    }\n    version\n  }\n"): (typeof documents)["\n  query Me {\n    me {\n      role\n      tenantId\n      tenantName\n    }\n    version\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query AuditLog($first: Int) {\n    auditLog(first: $first) {\n      nodes {\n        id\n        at\n        actor\n        action\n        arguments\n        result\n        traceId\n      }\n    }\n  }\n"): (typeof documents)["\n  query AuditLog($first: Int) {\n    auditLog(first: $first) {\n      nodes {\n        id\n        at\n        actor\n        action\n        arguments\n        result\n        traceId\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription LiveThroughput($intervalMs: Int!) {\n    throughput(intervalMs: $intervalMs) {\n      at\n      ingestPerSecond\n      processedPerSecond\n      deadLetteredPerSecond\n    }\n  }\n"): (typeof documents)["\n  subscription LiveThroughput($intervalMs: Int!) {\n    throughput(intervalMs: $intervalMs) {\n      at\n      ingestPerSecond\n      processedPerSecond\n      deadLetteredPerSecond\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription TenantTick($filter: LiveEventFilter) {\n    events(filter: $filter) {\n      eventId\n      missedBefore\n    }\n  }\n"): (typeof documents)["\n  subscription TenantTick($filter: LiveEventFilter) {\n    events(filter: $filter) {\n      eventId\n      missedBefore\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query TenantNames {\n    tenants {\n      id\n      name\n    }\n  }\n"): (typeof documents)["\n  query TenantNames {\n    tenants {\n      id\n      name\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment DeadLetterFields on DeadLetter {\n    eventId\n    tenantId\n    tenantName\n    reason\n    errors {\n      path\n      message\n    }\n    body\n    bodyText\n    bodyStoredAsText\n    idempotencyKey\n    receivedAt\n    failedAt\n    attempts\n    status\n    sourceTopic\n    sourcePartition\n    sourceOffset\n    replayedAt\n    traceId\n    traceUrl\n  }\n"): (typeof documents)["\n  fragment DeadLetterFields on DeadLetter {\n    eventId\n    tenantId\n    tenantName\n    reason\n    errors {\n      path\n      message\n    }\n    body\n    bodyText\n    bodyStoredAsText\n    idempotencyKey\n    receivedAt\n    failedAt\n    attempts\n    status\n    sourceTopic\n    sourcePartition\n    sourceOffset\n    replayedAt\n    traceId\n    traceUrl\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query DeadLetters($filter: DeadLetterFilter, $first: Int, $after: String) {\n    deadLetters(filter: $filter, first: $first, after: $after) {\n      nodes {\n        ...DeadLetterFields\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"): (typeof documents)["\n  query DeadLetters($filter: DeadLetterFilter, $first: Int, $after: String) {\n    deadLetters(filter: $filter, first: $first, after: $after) {\n      nodes {\n        ...DeadLetterFields\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query DeadLetterGroups($filter: DeadLetterFilter) {\n    deadLetterGroups(filter: $filter) {\n      reason\n      path\n      count\n      pending\n      firstSeen\n      lastSeen\n    }\n  }\n"): (typeof documents)["\n  query DeadLetterGroups($filter: DeadLetterFilter) {\n    deadLetterGroups(filter: $filter) {\n      reason\n      path\n      count\n      pending\n      firstSeen\n      lastSeen\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query DeadLetterMinutes($tenantId: UUID) {\n    stats(window: \"1h\", tenantId: $tenantId) {\n      series {\n        minute\n        deadLettered\n      }\n    }\n  }\n"): (typeof documents)["\n  query DeadLetterMinutes($tenantId: UUID) {\n    stats(window: \"1h\", tenantId: $tenantId) {\n      series {\n        minute\n        deadLettered\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription NewDeadLetters($filter: LiveDeadLetterFilter) {\n    deadLetters(filter: $filter) {\n      eventId\n      missedBefore\n    }\n  }\n"): (typeof documents)["\n  subscription NewDeadLetters($filter: LiveDeadLetterFilter) {\n    deadLetters(filter: $filter) {\n      eventId\n      missedBefore\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ReplayDeadLetters($ids: [UUID!], $filter: DeadLetterFilter, $dryRun: Boolean!, $body: JSON) {\n    replayDeadLetters(ids: $ids, filter: $filter, dryRun: $dryRun, body: $body) {\n      dryRun\n      matched\n      replayed\n      eventIds\n      auditId\n    }\n  }\n"): (typeof documents)["\n  mutation ReplayDeadLetters($ids: [UUID!], $filter: DeadLetterFilter, $dryRun: Boolean!, $body: JSON) {\n    replayDeadLetters(ids: $ids, filter: $filter, dryRun: $dryRun, body: $body) {\n      dryRun\n      matched\n      replayed\n      eventIds\n      auditId\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation DiscardDeadLetters($ids: [UUID!], $filter: DeadLetterFilter, $dryRun: Boolean!) {\n    discardDeadLetters(ids: $ids, filter: $filter, dryRun: $dryRun) {\n      dryRun\n      matched\n      discarded\n      eventIds\n      auditId\n    }\n  }\n"): (typeof documents)["\n  mutation DiscardDeadLetters($ids: [UUID!], $filter: DeadLetterFilter, $dryRun: Boolean!) {\n    discardDeadLetters(ids: $ids, filter: $filter, dryRun: $dryRun) {\n      dryRun\n      matched\n      discarded\n      eventIds\n      auditId\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription LiveTail($filter: LiveEventFilter) {\n    events(filter: $filter) {\n      eventId\n      tenantId\n      tenantName\n      eventType\n      source\n      idempotencyKey\n      receivedAt\n      traceId\n      missedBefore\n      payload\n    }\n  }\n"): (typeof documents)["\n  subscription LiveTail($filter: LiveEventFilter) {\n    events(filter: $filter) {\n      eventId\n      tenantId\n      tenantName\n      eventType\n      source\n      idempotencyKey\n      receivedAt\n      traceId\n      missedBefore\n      payload\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Overview($window: StatsWindow!, $tenantId: UUID) {\n    stats(window: $window, tenantId: $tenantId) {\n      window\n      from\n      to\n      received\n      stored\n      deadLettered\n      dlqRate\n      columns {\n        start\n        stepSeconds\n        received\n        stored\n        deadLettered\n      }\n      topEventTypes {\n        eventType\n        count\n      }\n    }\n  }\n"): (typeof documents)["\n  query Overview($window: StatsWindow!, $tenantId: UUID) {\n    stats(window: $window, tenantId: $tenantId) {\n      window\n      from\n      to\n      received\n      stored\n      deadLettered\n      dlqRate\n      columns {\n        start\n        stepSeconds\n        received\n        stored\n        deadLettered\n      }\n      topEventTypes {\n        eventType\n        count\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Health {\n    health {\n      status\n      components {\n        name\n        status\n        detail\n        latencyMs\n      }\n    }\n  }\n"): (typeof documents)["\n  query Health {\n    health {\n      status\n      components {\n        name\n        status\n        detail\n        latencyMs\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Pipeline($minutes: Int!) {\n    pipeline {\n      topic\n      group\n      totalLag\n      maxLagSeconds\n      partitions {\n        partition\n        endOffset\n        committedOffset\n        lag\n        lagSeconds\n      }\n      members {\n        memberId\n        clientId\n        host\n        partitions\n      }\n      rates {\n        at\n        ingestPerSecond\n        processedPerSecond\n        deadLetteredPerSecond\n      }\n      history(minutes: $minutes) {\n        at\n        totalLag\n        maxLagSeconds\n        ingestPerSecond\n        processedPerSecond\n        deadLetteredPerSecond\n      }\n    }\n  }\n"): (typeof documents)["\n  query Pipeline($minutes: Int!) {\n    pipeline {\n      topic\n      group\n      totalLag\n      maxLagSeconds\n      partitions {\n        partition\n        endOffset\n        committedOffset\n        lag\n        lagSeconds\n      }\n      members {\n        memberId\n        clientId\n        host\n        partitions\n      }\n      rates {\n        at\n        ingestPerSecond\n        processedPerSecond\n        deadLetteredPerSecond\n      }\n      history(minutes: $minutes) {\n        at\n        totalLag\n        maxLagSeconds\n        ingestPerSecond\n        processedPerSecond\n        deadLetteredPerSecond\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription LiveLag {\n    consumerLag(intervalMs: 1000) {\n      at\n      totalLag\n      maxLagSeconds\n      partitions {\n        partition\n        endOffset\n        committedOffset\n        lag\n        lagSeconds\n      }\n    }\n  }\n"): (typeof documents)["\n  subscription LiveLag {\n    consumerLag(intervalMs: 1000) {\n      at\n      totalLag\n      maxLagSeconds\n      partitions {\n        partition\n        endOffset\n        committedOffset\n        lag\n        lagSeconds\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription PipelineRates {\n    throughput(intervalMs: 1000) {\n      at\n      ingestPerSecond\n      processedPerSecond\n      deadLetteredPerSecond\n    }\n  }\n"): (typeof documents)["\n  subscription PipelineRates {\n    throughput(intervalMs: 1000) {\n      at\n      ingestPerSecond\n      processedPerSecond\n      deadLetteredPerSecond\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query SearchEvent($q: String!, $id: UUID!, $isId: Boolean!, $tenantId: UUID) {\n    event(eventId: $id, tenantId: $tenantId) @include(if: $isId) {\n      ...EventDetail\n    }\n    eventsByIdempotencyKey(key: $q, tenantId: $tenantId) {\n      ...EventDetail\n    }\n  }\n  fragment EventDetail on Event {\n    eventId\n    tenantId\n    tenantName\n    eventType\n    source\n    idempotencyKey\n    occurredAt\n    receivedAt\n    processedAt\n    payload\n    status\n    kafkaTopic\n    kafkaPartition\n    kafkaOffset\n    traceId\n    traceUrl\n    lifecycle {\n      stage\n      at\n      topic\n      partition\n      offset\n      detail\n    }\n    deadLetter {\n      reason\n      status\n      errors {\n        path\n        message\n      }\n      body\n      attempts\n    }\n    trace {\n      traceId\n      url\n      spans {\n        spanId\n        parentSpanId\n        service\n        name\n        kind\n        startMicros\n        durationMicros\n        error\n        attributes\n        events\n      }\n    }\n  }\n"): (typeof documents)["\n  query SearchEvent($q: String!, $id: UUID!, $isId: Boolean!, $tenantId: UUID) {\n    event(eventId: $id, tenantId: $tenantId) @include(if: $isId) {\n      ...EventDetail\n    }\n    eventsByIdempotencyKey(key: $q, tenantId: $tenantId) {\n      ...EventDetail\n    }\n  }\n  fragment EventDetail on Event {\n    eventId\n    tenantId\n    tenantName\n    eventType\n    source\n    idempotencyKey\n    occurredAt\n    receivedAt\n    processedAt\n    payload\n    status\n    kafkaTopic\n    kafkaPartition\n    kafkaOffset\n    traceId\n    traceUrl\n    lifecycle {\n      stage\n      at\n      topic\n      partition\n      offset\n      detail\n    }\n    deadLetter {\n      reason\n      status\n      errors {\n        path\n        message\n      }\n      body\n      attempts\n    }\n    trace {\n      traceId\n      url\n      spans {\n        spanId\n        parentSpanId\n        service\n        name\n        kind\n        startMicros\n        durationMicros\n        error\n        attributes\n        events\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Tenants {\n    tenants {\n      id\n      name\n      apiKeyPrefix\n      rateLimitPerMinute\n      idempotencyTtlSeconds\n      disabled\n      disabledAt\n      createdAt\n      schemas {\n        tenantId\n        eventType\n        schema\n        updatedAt\n      }\n    }\n  }\n"): (typeof documents)["\n  query Tenants {\n    tenants {\n      id\n      name\n      apiKeyPrefix\n      rateLimitPerMinute\n      idempotencyTtlSeconds\n      disabled\n      disabledAt\n      createdAt\n      schemas {\n        tenantId\n        eventType\n        schema\n        updatedAt\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateTenant($name: String!, $rateLimitPerMinute: Int, $idempotencyTtlSeconds: Int) {\n    createTenant(name: $name, rateLimitPerMinute: $rateLimitPerMinute, idempotencyTtlSeconds: $idempotencyTtlSeconds) {\n      apiKey\n      tenant {\n        id\n        name\n        apiKeyPrefix\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation CreateTenant($name: String!, $rateLimitPerMinute: Int, $idempotencyTtlSeconds: Int) {\n    createTenant(name: $name, rateLimitPerMinute: $rateLimitPerMinute, idempotencyTtlSeconds: $idempotencyTtlSeconds) {\n      apiKey\n      tenant {\n        id\n        name\n        apiKeyPrefix\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RotateApiKey($tenantId: UUID!) {\n    rotateApiKey(tenantId: $tenantId) {\n      apiKey\n      tenant {\n        id\n        name\n        apiKeyPrefix\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation RotateApiKey($tenantId: UUID!) {\n    rotateApiKey(tenantId: $tenantId) {\n      apiKey\n      tenant {\n        id\n        name\n        apiKeyPrefix\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation UpdateTenantLimits($tenantId: UUID!, $rateLimitPerMinute: Int, $idempotencyTtlSeconds: Int) {\n    updateTenantLimits(tenantId: $tenantId, rateLimitPerMinute: $rateLimitPerMinute, idempotencyTtlSeconds: $idempotencyTtlSeconds) {\n      id\n      rateLimitPerMinute\n      idempotencyTtlSeconds\n    }\n  }\n"): (typeof documents)["\n  mutation UpdateTenantLimits($tenantId: UUID!, $rateLimitPerMinute: Int, $idempotencyTtlSeconds: Int) {\n    updateTenantLimits(tenantId: $tenantId, rateLimitPerMinute: $rateLimitPerMinute, idempotencyTtlSeconds: $idempotencyTtlSeconds) {\n      id\n      rateLimitPerMinute\n      idempotencyTtlSeconds\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation DisableTenant($tenantId: UUID!) {\n    disableTenant(tenantId: $tenantId) {\n      id\n      disabled\n      disabledAt\n    }\n  }\n"): (typeof documents)["\n  mutation DisableTenant($tenantId: UUID!) {\n    disableTenant(tenantId: $tenantId) {\n      id\n      disabled\n      disabledAt\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation EnableTenant($tenantId: UUID!) {\n    enableTenant(tenantId: $tenantId) {\n      id\n      disabled\n      disabledAt\n    }\n  }\n"): (typeof documents)["\n  mutation EnableTenant($tenantId: UUID!) {\n    enableTenant(tenantId: $tenantId) {\n      id\n      disabled\n      disabledAt\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SetEventSchema($tenantId: UUID!, $eventType: String!, $schema: JSON!) {\n    setEventSchema(tenantId: $tenantId, eventType: $eventType, schema: $schema) {\n      tenantId\n      eventType\n      updatedAt\n    }\n  }\n"): (typeof documents)["\n  mutation SetEventSchema($tenantId: UUID!, $eventType: String!, $schema: JSON!) {\n    setEventSchema(tenantId: $tenantId, eventType: $eventType, schema: $schema) {\n      tenantId\n      eventType\n      updatedAt\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation DeleteEventSchema($tenantId: UUID!, $eventType: String!) {\n    deleteEventSchema(tenantId: $tenantId, eventType: $eventType)\n  }\n"): (typeof documents)["\n  mutation DeleteEventSchema($tenantId: UUID!, $eventType: String!) {\n    deleteEventSchema(tenantId: $tenantId, eventType: $eventType)\n  }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;