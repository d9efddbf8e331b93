// Local time for pages opened with tz=local: every <time datetime> and the
// chart's axis labels (data-ts) are rewritten in the browser's zone. The
// pages work without this script; times are then shown in UTC.
(function () {
	"use strict";
	if (document.documentElement.getAttribute("data-tz") !== "local") return;
	var pad = function (n) { return (n < 10 ? "0" : "") + n; };
	var zone = "";
	try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { zone = ""; }
	document.querySelectorAll("time[datetime]").forEach(function (el) {
		var d = new Date(el.getAttribute("datetime"));
		if (isNaN(d)) return;
		el.textContent = d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " +
			pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds()) + (zone ? " " + zone : " local");
	});
	var months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
	document.querySelectorAll("svg.chart text[data-ts]").forEach(function (el) {
		var d = new Date(Number(el.getAttribute("data-ts")) * 1000);
		var hm = pad(d.getHours()) + ":" + pad(d.getMinutes());
		var day = months[d.getMonth()] + " " + d.getDate();
		var f = el.getAttribute("data-fmt");
		el.textContent = f === "date" ? day : f === "datetime" ? day + " " + hm : hm;
	});
	document.querySelectorAll("[data-zone]").forEach(function (el) { el.textContent = zone || "local time"; });
})();
