// History ⇄ the standard history JSON (protojson: camelCase fields, "EVENT_TYPE_…" enums, int64 as
// strings, RFC 3339 times), as `temporal workflow show --output json` and the Web UI download write it.
//
// Why not historyToJSON / historyFromJSON from @temporalio/common/lib/proto-utils: in this install
// @temporalio/common, @temporalio/proto and @temporalio/worker each get their own nested copy of
// protobufjs 8 (the root one is 7.x for @grpc/proto-loader), and the SDK's helpers pass a type from
// @temporalio/proto's copy to the protojson of @temporalio/common's copy, which throws
// "type must be a Type" — and Worker.runReplayHistories calls historyFromJSON for any history whose
// eventId is a string. So this module uses the protojson of the very protobufjs copy @temporalio/proto
// uses, and hands the worker protobuf objects, not JSON.
import { createRequire } from 'node:module';
import * as proto from '@temporalio/proto';
import { patchProtobufRoot } from '@temporalio/proto/lib/patch-protobuf-root';

type History = proto.temporal.api.history.v1.IHistory;

const fromProto = createRequire(require.resolve('@temporalio/proto'));
const protojson: {
  toJson(type: unknown, message: unknown): unknown;
  fromJson(type: unknown, json: unknown, options?: { ignoreUnknownFields?: boolean }): unknown;
} = fromProto('protobufjs/ext/protojson');
const historyType = (patchProtobufRoot(proto) as unknown as { lookupType(name: string): unknown }).lookupType('temporal.api.history.v1.History');

/** The standard JSON form of a history, pretty-printed with one space (readable diffs, smaller files). */
export function historyToJSON(history: History): string {
  return JSON.stringify(protojson.toJson(historyType, proto.temporal.api.history.v1.History.fromObject(history)), null, 1);
}

/** Parses the standard JSON form back into a protobuf History the replay worker takes as it is. */
export function historyFromJSON(json: unknown): History {
  if (typeof json !== 'object' || json === null || !Array.isArray((json as { events?: unknown }).events)) {
    throw new TypeError('not a history: expected an object with an array of events');
  }
  // Unknown fields are tolerated: histories written by a newer server or CLI still load.
  return protojson.fromJson(historyType, json, { ignoreUnknownFields: true }) as History;
}
