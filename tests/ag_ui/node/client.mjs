// Drives an AG-UI endpoint with the official client (@ag-ui/client HttpAgent), as a browser frontend would.
// Usage: node client.mjs '<plan json>'
//   plan = {"url": "...", "threads": [{"threadId": "...", "runs": [{"runId": "...", "text": "...",
//            "approve": true, "resumePayload": {...}}]}]}
// Threads run concurrently, the runs of one thread one after another on one HttpAgent (its messages
// and state carry over, as in a chat UI). A run with "approve" answers every pending interrupt of the
// previous run (tool approval: payload {"approved": true}, or "resumePayload") instead of sending a new
// user message.
// Prints one JSON line: {"runs": [{"threadId", "runId", "events": [types], "interrupts": [ids],
//                                  "text": "...", "error": null | "..."}]}
import { HttpAgent } from "@ag-ui/client";

const plan = JSON.parse(process.argv[2]);

async function runThread(thread) {
  const agent = new HttpAgent({ url: plan.url, threadId: thread.threadId, headers: plan.headers ?? {} });
  const results = [];
  let counter = 0;
  for (const run of thread.runs) {
    const events = [];
    let text = "";
    const parameters = { runId: run.runId };
    if (run.approve) {
      parameters.resume = agent.pendingInterrupts.map((interrupt) => ({
        interruptId: interrupt.id,
        status: "resolved",
        payload: run.resumePayload ?? { approved: true },
      }));
    } else {
      counter += 1;
      agent.addMessage({ id: `${thread.threadId}-user-${counter}`, role: "user", content: run.text });
    }
    let error = null;
    try {
      await agent.runAgent(parameters, {
        onEvent({ event }) {
          events.push(event.type);
        },
        onTextMessageContentEvent({ event }) {
          text += event.delta;
        },
      });
    } catch (failure) {
      error = String(failure?.message ?? failure);
    }
    results.push({
      threadId: agent.threadId,
      runId: run.runId,
      events,
      interrupts: agent.pendingInterrupts.map((interrupt) => interrupt.id),
      text,
      error,
    });
  }
  return results;
}

const perThread = await Promise.all(plan.threads.map(runThread));
process.stdout.write(JSON.stringify({ runs: perThread.flat() }) + "\n");
