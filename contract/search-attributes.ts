// Typed search attributes: the Temporal Web UI and `quad list` find releases by these.
// Registered from temporal-dev.yml by the dev server start and by the test environments.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { ReleaseRequest } from './plan';

export const QuadService = defineSearchAttributeKey('QuadService', SearchAttributeType.KEYWORD);
export const QuadVersion = defineSearchAttributeKey('QuadVersion', SearchAttributeType.KEYWORD);
export const QuadStrategy = defineSearchAttributeKey('QuadStrategy', SearchAttributeType.KEYWORD);
export const QuadStage = defineSearchAttributeKey('QuadStage', SearchAttributeType.KEYWORD);
export const QuadStatus = defineSearchAttributeKey('QuadStatus', SearchAttributeType.KEYWORD);
/**
 * The request that started a release (a Jira delivery, a Slack command): set at start and never changed,
 * so a retried request finds the release it already started instead of starting a second one.
 */
export const QuadRequestId = defineSearchAttributeKey('QuadRequestId', SearchAttributeType.KEYWORD);

export const SEARCH_ATTRIBUTE_NAMES = ['QuadService', 'QuadVersion', 'QuadStrategy', 'QuadStage', 'QuadStatus', 'QuadRequestId'] as const;

/** A release's attributes at its start, before its first phase upserts them (CLI, Slack, Jira, schedules). */
export const startSearchAttributes = (request: ReleaseRequest) => [
  { key: QuadService, value: request.service },
  { key: QuadVersion, value: request.version },
  { key: QuadStrategy, value: request.strategy },
  { key: QuadStage, value: 'planning' },
  { key: QuadStatus, value: 'running' },
];
