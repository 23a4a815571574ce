"""Example Lambda handler: batch text embedding requests (the model call is out of scope for the demo)."""

import json


def handler(event, context):
    texts = event.get("texts", [])
    return {"statusCode": 200, "body": json.dumps({"count": len(texts)})}
