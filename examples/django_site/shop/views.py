from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render


def home(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "shop/page.html",
        {
            "title": "Home",
            "text": "Choose in the banner: nothing is counted before.",
        },
    )


def item(request: HttpRequest, item_id: int) -> HttpResponse:
    return render(
        request,
        "shop/page.html",
        {
            "title": f"Item {item_id}",
            "text": "Counted as /items/{item_id}/.",
        },
    )


def marketing(request: HttpRequest) -> HttpResponse:
    response = render(
        request,
        "shop/page.html",
        {
            "title": "Marketing",
            "text": "This page sets the _fbp cookie.",
        },
    )
    # consentkit drops this cookie from the response until marketing is granted
    response.set_cookie("_fbp", "fb.1.1700000000000.1234567890", max_age=90 * 24 * 3600)
    return response


def consent_state(request: HttpRequest) -> JsonResponse:
    consent = request.consent  # set by consentkit.django.ConsentRequestMiddleware
    return JsonResponse(
        {
            "decided": consent.decided,
            "categories": sorted(consent.categories),
            "analytics": consent.allows("analytics"),
            "marketing": consent.allows("marketing"),
        }
    )


def analytics_js(request: HttpRequest) -> HttpResponse:
    script = "console.log('analytics granted: this script was loaded');"
    return HttpResponse(script, content_type="text/javascript")
