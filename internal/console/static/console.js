// Vigil console: the only script. It reloads the sessions list on a timer
// while "Refresh every 15 s" is checked. Such reloads carry auto=1 so they
// do not count as activity for the idle timeout.
(function () {
  "use strict";
  var box = document.querySelector("[data-autorefresh]");
  if (!box) { return; }
  var seconds = parseInt(box.getAttribute("data-autorefresh"), 10) || 15;
  var timer = null;
  function url(on) {
    var u = new URL(window.location.href);
    if (on) { u.searchParams.set("refresh", "1"); } else { u.searchParams.delete("refresh"); }
    u.searchParams.delete("auto");
    return u;
  }
  function schedule() {
    if (timer) { clearTimeout(timer); timer = null; }
    if (!box.checked) { return; }
    timer = setTimeout(function () {
      var u = url(true);
      u.searchParams.set("auto", "1");
      window.location.replace(u.toString());
    }, seconds * 1000);
  }
  box.addEventListener("change", function () {
    window.history.replaceState(null, "", url(box.checked).toString());
    schedule();
  });
  schedule();
}());
