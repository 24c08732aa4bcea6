// /spin loops forever on workerd's thread; everything else answers "ok".
export default {
  async fetch(request) {
    if (new URL(request.url).pathname === "/spin") for (;;) {}
    return new Response("ok");
  },
};
