// The state of one partition number (of all four co-partitioned topics): the
// users whose key hashes to it. Applies decoded events and turns the users a
// batch touched into fact rows.
import type { InputEvent } from '@optout/events';
import { addFacts, addRemoval, emptyFactRows, type FactRows } from '../sink/rows.ts';
import { changedFacts } from './facts.ts';
import { NameTable, UserState } from './user-state.ts';

export interface ApplyOutcome {
  /** false: a duplicate of an event already held. */
  admitted: boolean;
  /** The user had already seen a later event: an out-of-order arrival. */
  late: boolean;
  user: UserState;
}

export class PartitionState {
  readonly users = new Map<string, UserState>();
  private readonly names = new NameTable();

  constructor(readonly partition: number) {}

  user(appId: string, userId: string): UserState {
    const key = `${appId}:${userId}`;
    let user = this.users.get(key);
    if (!user) {
      user = new UserState(appId, userId, this.names);
      this.users.set(key, user);
    }
    return user;
  }

  apply(input: InputEvent): ApplyOutcome {
    const e = input.event;
    const user = this.user(e.app_id, e.user_id);
    const late = e.occurred_at < user.latestSeen;
    let admitted: boolean;
    switch (input.kind) {
      case 'pushSent':
        admitted = user.addPush(e.occurred_at, e.event_id);
        break;
      case 'campaignInteraction':
        admitted = user.addInteraction(
          e.occurred_at,
          e.event_id,
          input.event.campaign_id,
          input.event.interaction,
        );
        break;
      case 'appEvent':
        admitted = user.addAppEvent(e.occurred_at, e.event_id, input.event.event_name);
        break;
      case 'consentChange':
        admitted = user.addConsent(input.event.channel, {
          t: e.occurred_at,
          id: e.event_id,
          status: input.event.status,
          source: input.event.source,
        });
        break;
    }
    return { admitted, late: admitted && late, user };
  }

  /**
   * Fact rows for what changed in `touched` users. `frozenBefore`: the retention
   * horizon (state before it is pruned). Marks the rows as written in the users'
   * state: the caller must write them (or drop this partition state).
   */
  collectFacts(touched: Iterable<UserState>, frozenBefore: number, version: number): FactRows {
    const rows = emptyFactRows();
    for (const user of touched) {
      if (user.consent.size === 0 && user.written.size === 0) continue;
      const { upserts, removals } = changedFacts(user, frozenBefore);
      for (const facts of upserts) addFacts(rows, user, facts, version);
      for (const removal of removals) addRemoval(rows, user, removal, version);
    }
    return rows;
  }

  erase(appId: string, userId: string): boolean {
    return this.users.delete(`${appId}:${userId}`);
  }

  prune(horizon: number): void {
    for (const [key, user] of this.users) {
      user.prune(horizon);
      if (user.eventCount() === 0 && user.written.size === 0) this.users.delete(key);
    }
  }

  eventCount(): number {
    let n = 0;
    for (const user of this.users.values()) n += user.eventCount();
    return n;
  }
}
