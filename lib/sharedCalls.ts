// One call per key at a time: whoever asks while a call for the key is under way gets its answer
// (or its failure) instead of making another. Forgotten once settled, so the next ask calls anew.

export class SharedCalls<T> {
  private readonly pending = new Map<string, Promise<T>>();

  share(key: string, call: () => Promise<T>): Promise<T> {
    let answer = this.pending.get(key);
    if (!answer) {
      answer = call().finally(() => this.pending.delete(key));
      this.pending.set(key, answer);
    }
    return answer;
  }
}
